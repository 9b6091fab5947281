// The single-node path of the program (dropstack:nodes 1): the node, unless the target is this
// machine, then the Stackfile's services as containers on its engine through the Stack
// component, the HTTPS proxy in front of the web service, and the stack's outputs.
import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { disbandSwarm, Node, Proxy, Stack } from "../components";
import { webPort } from "../config/warnings";
import type { StackSpec } from "../stackfile";
import { backupOutputs, deployBackups, SPACES_PRICE } from "./backups";
import type { Backups } from "../components/backups";
import type { ClusterArgs } from "./cluster";
import {
  addressRecord,
  definedOutputs,
  firstNodeArgs,
  nodeDockerProvider,
  secretStackVars,
  waitForApp,
} from "./common";

export interface SingleNodeArgs extends Omit<ClusterArgs, "size"> {
  /** The Stackfile as written, before the proxy's plan: its published ports give the url. */
  written: StackSpec;
  /** The droplet size, from DigitalOcean's list; undefined on the local target. */
  size: ClusterArgs["size"] | undefined;
}

/** Where the stack runs: the node and its Docker provider, or this machine's engine. */
interface Target {
  node: Node | undefined;
  provider: docker.Provider;
  /** The node's public IPv4 address (or localhost). */
  host: pulumi.Output<string>;
  dnsRecords: digitalocean.DnsRecord[];
  /** What must be done before anything runs on the node: its readiness, its leaving a swarm. */
  ready: pulumi.Resource[];
}

/** Deploys the single node (or onto this machine); returns the stack's outputs. */
export function deploySingleNode(args: SingleNodeArgs): Record<string, unknown> {
  const { config, stack, prefix, plan } = args;
  const target = singleNodeTarget(args);
  const { node, provider, host, dnsRecords } = target;
  const deployed = deployStack(args, target);

  // The name people type: the domain, if any, or the node's address.
  const site =
    config.target === "digitalocean" && config.domain !== "" ? pulumi.output(config.domain) : host;
  const proxy =
    plan &&
    new Proxy(
      "proxy",
      {
        plan,
        networkName: deployed.networkName,
        site,
        prefix,
        dataPath: node ? `${node.dataPath}/${stack}/.proxy` : undefined,
        retainData: config.retainDataOnDestroy,
        after: [...deployed.serviceComponents[plan.service].containers, ...dnsRecords],
        nodeId: node?.droplet.id,
      },
      { providers: [provider], dependsOn: target.ready },
    );

  const url = waitForSingleNodeApp(args, host, site, deployed, proxy);
  const backups = deployBackups(config, stack, prefix, args.spec, target, deployed);
  return singleNodeOutputs(args, target, deployed, proxy, url, backups);
}

/** The node with its provider and address records, or this machine's engine. */
function singleNodeTarget({ config, stack, prefix, dnsRecord }: SingleNodeArgs): Target {
  let node: Node | undefined;
  let provider: docker.Provider;
  let host: pulumi.Output<string>;
  const dnsRecords: digitalocean.DnsRecord[] = [];
  let ready: pulumi.Resource[] = [];
  if (config.target === "digitalocean") {
    node = new Node("node", firstNodeArgs(config, stack, prefix));
    // A cluster shrunk to this one node leaves its swarm before anything of the node's is made.
    const disband = disbandSwarm(node, prefix);
    ready = [node.readiness, disband];
    provider = nodeDockerProvider("node-docker", node, [disband]);
    host = node.ipv4Address;
    if (dnsRecord !== undefined) dnsRecords.push(addressRecord(dnsRecord, node));
  } else {
    // This machine's engine: DOCKER_HOST if set, else the default socket.
    provider = new docker.Provider("local-docker", { host: process.env.DOCKER_HOST });
    host = pulumi.output("localhost");
  }
  return { node, provider, host, dnsRecords, ready };
}

/** The Stackfile's services as containers on the target's engine. */
function deployStack(
  { config, stack, prefix, stackfileDir, spec }: SingleNodeArgs,
  { node, provider, ready }: Target,
): Stack {
  return new Stack(
    "stack",
    {
      spec,
      stackfileDir,
      provider,
      secretVars: secretStackVars(config),
      prefix,
      dataPath: node ? `${node.dataPath}/${stack}` : undefined,
      retainData: config.retainDataOnDestroy,
      dockerAccess: node ? node.sshEnvironment : {},
      nodeId: node?.droplet.id,
    },
    { dependsOn: ready },
  );
}

/** The stack's url, if it has one, and the wait for the app to answer there. */
function waitForSingleNodeApp(
  { config, written }: SingleNodeArgs,
  host: pulumi.Output<string>,
  site: pulumi.Output<string>,
  deployed: Stack,
  proxy: Proxy | undefined,
): pulumi.Output<string> | undefined {
  const web = webPort(written, config.target);
  const url = proxy
    ? pulumi.interpolate`https://${site}/`
    : web === undefined
      ? undefined
      : pulumi.interpolate`http://${site}${web === 80 ? "" : `:${web}`}/`;
  if (url !== undefined) {
    waitForApp(
      url,
      host,
      [
        ...Object.values(deployed.serviceComponents).flatMap((s) => s.containers),
        ...(proxy ? [proxy.container] : []),
      ],
      proxy && { name: proxy.container.name, caCertificate: proxy.caCertificate },
      config,
    );
  }
  return url;
}

/** The single node's stack outputs. */
function singleNodeOutputs(
  { config, size }: SingleNodeArgs,
  { node, host }: Target,
  deployed: Stack,
  proxy: Proxy | undefined,
  url: pulumi.Output<string> | undefined,
  backups: Backups | undefined,
): Record<string, unknown> {
  const password = deployed.generatedSecrets.PASSWORD ?? config.stackVars.PASSWORD;
  return definedOutputs({
    /** Where the stack's web front answers. */
    url,
    /** The node's public IPv4 address (or localhost). */
    ip: host,
    /** Opens a shell on the node with the pinned host key. */
    sshCommand: node?.sshCommand,
    /** The root certificate of the stack's own CA (tls: internal): trust it to open the url. */
    caCertificate: proxy?.caCertificate,
    /** The data volume, to adopt again (config dataVolumeId) after a destroy that kept it. */
    dataVolumeId: node?.dataVolumeId,
    /** The notebook password: `npx pulumi stack output password --show-secrets`. */
    password: password === undefined ? undefined : pulumi.secret(password),
    /** Each service's containers and published endpoints. */
    services: deployed.services,
    /**
     * What the droplet costs, from DigitalOcean's size list, and apart from it Spaces' fee when
     * data backups are on; the volume and droplet backups come on top.
     */
    monthlyCost: size && {
      size: size.slug,
      usdPerMonth: size.priceMonthly,
      vcpus: size.vcpus,
      memoryMiB: size.memory,
      diskGiB: size.disk,
      ...(backups ? { spaces: SPACES_PRICE } : {}),
    },
    ...backupOutputs(config, backups),
  });
}
