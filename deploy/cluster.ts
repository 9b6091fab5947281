// The cluster path of the program (dropstack:nodes above 1): the nodes, the Docker Swarm
// formed over their pinned SSH, the Stackfile's services as Swarm services, and the HTTPS proxy
// on the data node, publishing 80 and 443 there. The first node keeps the single-node path's
// resource names, so a stack that grows keeps its data volume.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { DATA_MOUNT } from "../cloud-init";
import {
  formSwarm,
  managerCount,
  Node,
  prepareBindSources,
  SwarmProxy,
  swarmBindSources,
  swarmProxyMounts,
  swarmFirewall,
  SwarmStack,
} from "../components";
import { serviceTags, type DropstackConfig } from "../config";
import {
  addressRecord,
  definedOutputs,
  firstNodeArgs,
  nodeDockerProvider,
  secretStackVars,
  waitForApp,
} from "./common";
import type { ProxyPlan } from "../proxy/plan";
import type { StackSpec } from "../stackfile";

export interface ClusterArgs {
  config: DropstackConfig;
  stack: string;
  prefix: string;
  stackfileDir: string;
  /** The spec to deploy (the proxy's plan already applied), parsed for a cluster. */
  spec: StackSpec;
  plan: ProxyPlan | undefined;
  /** The droplet size, from DigitalOcean's list. */
  size: { slug: string; priceMonthly: number; vcpus: number; memory: number; disk: number };
  /** Where the domain's records go, with manageDns. */
  dnsRecord: { zone: string; name: string } | undefined;
}

/** Deploys the cluster; returns the stack's outputs. */
export function deployCluster(args: ClusterArgs): Record<string, unknown> {
  const { config, stack, prefix } = args;
  const nodes = clusterNodes(config, stack, prefix);
  const [first] = nodes;
  swarmFirewall(prefix, nodes);
  const swarm = formSwarm(nodes, config.nodeTags, prefix);
  const { nodeProviders, manager } = swarmProviders(nodes, swarm);
  const { deployed, folders, proxyPath } = deploySwarmStack(args, nodes, swarm, {
    nodeProviders,
    manager,
  });

  const dnsRecords = args.dnsRecord ? [addressRecord(args.dnsRecord, first)] : [];
  // The certificate is for the domain, or the first node's address (where the data is).
  const site = config.domain !== "" ? pulumi.output(config.domain) : first.ipv4Address;
  const proxy =
    args.plan &&
    new SwarmProxy("proxy", {
      plan: args.plan,
      networkId: deployed.networkId,
      site,
      prefix,
      dataPath: proxyPath,
      manager,
      managerId: first.droplet.id,
      managerAccess: first.sshEnvironment,
      swarm: swarm.home,
      after: [deployed.swarmServices[args.plan.service], ...dnsRecords, ...folders],
    });
  const url = waitForClusterApp(args, first, site, deployed, proxy);
  return clusterOutputs(args, nodes, deployed, proxy, url);
}

/**
 * The nodes. The first node is the single node, data volume and names included, so a stack that
 * grows keeps it as it is; the others hold no data and are named by their number.
 */
function clusterNodes(config: DropstackConfig, stack: string, prefix: string): Node[] {
  const args = firstNodeArgs(config, stack, prefix);
  return Array.from({ length: config.nodes }, (_, i) => {
    if (i === 0) return new Node("node", args);
    return new Node(`node-${i + 1}`, {
      ...args,
      dataVolume: false,
      dataVolumeId: "",
      sshDir: path.join(".dropstack", stack, `node-${i + 1}`),
      resourcePrefix: `${prefix}-${i + 1}`,
    });
  });
}

/** The Docker providers: one per node, and the swarm's manager. */
function swarmProviders(
  nodes: Node[],
  swarm: ReturnType<typeof formSwarm>,
): { nodeProviders: docker.Provider[]; manager: docker.Provider } {
  const [first] = nodes;
  // One provider per node, for the images built on each; the first node's also for its pulls.
  const nodeProviders = nodes.map((node, i) =>
    nodeDockerProvider(i === 0 ? "node-docker" : `node-${i + 1}-docker`, node),
  );
  // Services and networks are the swarm's: made through the first node once every node is in.
  const manager = new docker.Provider(
    "swarm-docker",
    { host: first.dockerHost, sshOpts: first.sshOpts },
    { dependsOn: swarm.ready },
  );
  return { nodeProviders, manager };
}

/** The Stackfile's services as Swarm services, after the folders they mount. */
function deploySwarmStack(
  args: ClusterArgs,
  nodes: Node[],
  swarm: ReturnType<typeof formSwarm>,
  { nodeProviders, manager }: ReturnType<typeof swarmProviders>,
): { deployed: SwarmStack; folders: ReturnType<typeof prepareBindSources>; proxyPath: string } {
  const { config, stack, prefix } = args;
  const dataPath = `${DATA_MOUNT}/${stack}`;
  const proxyPath = `${dataPath}/.proxy`;
  // Swarm makes no bind source: the folders services and the proxy mount come first.
  const sources = swarmBindSources(args.spec.services, dataPath);
  if (args.plan) sources.dataNode.push(...swarmProxyMounts(proxyPath).map((m) => m.source));
  const folders = prepareBindSources(nodes, sources);
  const deployed = new SwarmStack("stack", {
    spec: args.spec,
    stackfileDir: args.stackfileDir,
    manager,
    swarm: swarm.home,
    nodeProviders,
    nodeIds: nodes.map((node) => node.droplet.id),
    secretVars: secretStackVars(config),
    prefix,
    dataPath,
    nodeAccess: nodes.map((node) => node.sshEnvironment),
    dataNodeTags: serviceTags(config, stack, true),
    after: folders,
  });
  return { deployed, folders, proxyPath };
}

/** The stack's url, if it has one, and the wait for the app to answer there. */
function waitForClusterApp(
  args: ClusterArgs,
  first: Node,
  site: pulumi.Output<string>,
  deployed: SwarmStack,
  proxy: SwarmProxy | undefined,
): pulumi.Output<string> | undefined {
  const webService = args.spec.services.find((s) => s.ports.some((p) => p.host === 80));
  const url = proxy
    ? pulumi.interpolate`https://${site}/`
    : webService
      ? pulumi.interpolate`http://${site}/`
      : undefined;
  if (url !== undefined) {
    waitForApp(
      url,
      first.ipv4Address,
      [...Object.values(deployed.swarmServices), ...(proxy ? [proxy.service] : [])],
      proxy && { name: proxy.service.name, caCertificate: proxy.caCertificate },
      args.config,
    );
  }
  return url;
}

/** The cluster's stack outputs. */
function clusterOutputs(
  args: ClusterArgs,
  nodes: Node[],
  deployed: SwarmStack,
  proxy: SwarmProxy | undefined,
  url: pulumi.Output<string> | undefined,
): Record<string, unknown> {
  const { config } = args;
  const [first] = nodes;
  const password = deployed.generatedSecrets.PASSWORD ?? config.stackVars.PASSWORD;
  const managers = managerCount(nodes.length);
  return definedOutputs({
    url,
    /** The first node's address: the data node, where the proxy runs. */
    ip: first.ipv4Address,
    sshCommand: first.sshCommand,
    /** Every node: its droplet name, public and VPC addresses, and Swarm role. */
    nodes: pulumi.all(
      nodes.map((node, i) =>
        pulumi.all([node.ipv4Address, node.privateAddress]).apply(([ip, privateIp]) => ({
          name: node.hostname,
          ip,
          privateIp,
          role: i < managers ? "manager" : "worker",
          data: i === 0,
        })),
      ),
    ),
    caCertificate: proxy?.caCertificate,
    dataVolumeId: first.dataVolumeId,
    password: password === undefined ? undefined : pulumi.secret(password),
    services: deployed.services,
    monthlyCost: {
      size: args.size.slug,
      nodes: nodes.length,
      usdPerMonth: args.size.priceMonthly * nodes.length,
      vcpus: args.size.vcpus * nodes.length,
      memoryMiB: args.size.memory * nodes.length,
      diskGiB: args.size.disk * nodes.length,
    },
  });
}
