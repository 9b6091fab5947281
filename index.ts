// The dropstack program: `pulumi up` reads the stack's config and Stackfile, builds the node
// (unless the target is this machine) and deploys the Stackfile's services onto it.
//
// It is an async function (Pulumi awaits a program's exported function and takes its result as
// the stack outputs) so that every check, the size lookup at DigitalOcean included, happens
// before the first resource is registered: bad input never leaves a half-created stack.
import "./runtime/promise-stacks";
import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { deployCluster } from "./deploy/cluster";
import {
  addressRecords,
  definedOutputs,
  dockerContextProblem,
  firstNodeArgs,
  nodeDockerProvider,
  waitForApp,
} from "./deploy/common";
import { Node, Proxy, Stack } from "./components";
import { clusterNodeTags, DropstackConfig, loadConfig } from "./config";
import { resourcePrefix, tagFor } from "./config/naming";
import { nodeVersionProblem, runError } from "./runtime";
import { nearestAll } from "./stackfile/nearest";
import { recordFor, candidateZones } from "./proxy/dns";
import { planProxy, ProxyError, ProxyPlan } from "./proxy/plan";
import { stackWarnings, webPort } from "./config/warnings";
import {
  checkBuilds,
  formatDiagnostic,
  parseStackfile,
  StackfileError,
  StackSpec,
  swarmProblems,
} from "./stackfile";

export = async () => {
  const tooOld = nodeVersionProblem();
  if (tooOld !== undefined) throw runError(tooOld);
  const config = loadConfig();
  const context = dockerContextProblem(config.target, process.env.DOCKER_CONTEXT);
  if (context !== undefined) throw runError(context);
  const stack = pulumi.getStack();
  const prefix = resourcePrefix(pulumi.getProject(), stack);
  // Relative to the project folder whatever folder the program runs in.
  const stackfile = path.resolve(__dirname, config.stackfile);
  const cluster = config.nodes > 1;
  const written = loadStackfile(
    stackfile,
    config.stackfile,
    config.stackVars,
    // Every node carries these; on a cluster, also the tags dropstack:nodeTags gives each.
    [tagFor(stack), "dropstack", ...clusterNodeTags(config)],
    cluster,
  );
  stackWarnings(config, written).forEach((w) => pulumi.log.warn(w));
  const plan = proxyPlan(config, written);
  const spec = plan?.spec ?? written;
  const buildProblems = checkBuilds(spec, path.dirname(stackfile), __dirname);
  if (buildProblems.length > 0) {
    throw runError(
      `The Stackfile's builds cannot run:\n  - ${buildProblems.map(formatDiagnostic).join("\n  - ")}`,
    );
  }
  const { size, dnsRecord } =
    config.target === "digitalocean"
      ? await askDigitalOcean(config)
      : { size: undefined, dnsRecord: undefined };
  if (cluster) {
    return deployCluster({
      config,
      stack,
      prefix,
      stackfileDir: path.dirname(stackfile),
      spec,
      plan,
      size: size!,
      dnsRecord,
    });
  }

  let node: Node | undefined;
  let provider: docker.Provider;
  let host: pulumi.Output<string>;
  const dnsRecords: digitalocean.DnsRecord[] = [];
  if (config.target === "digitalocean") {
    node = new Node("node", firstNodeArgs(config, stack, prefix));
    provider = nodeDockerProvider("node-docker", node);
    host = node.ipv4Address;
    if (dnsRecord !== undefined) dnsRecords.push(...addressRecords(dnsRecord, [node]));
  } else {
    // This machine's engine: DOCKER_HOST if set, else the default socket.
    provider = new docker.Provider("local-docker", { host: process.env.DOCKER_HOST });
    host = pulumi.output("localhost");
  }

  const deployed = new Stack(
    "stack",
    {
      spec,
      stackfileDir: path.dirname(stackfile),
      provider,
      secretVars: Object.fromEntries(
        Object.entries(config.stackVars).filter(([, v]) => pulumi.Output.isInstance(v)),
      ),
      prefix,
      dataPath: node ? `${node.dataPath}/${stack}` : undefined,
      retainData: config.retainDataOnDestroy,
      dockerAccess: node ? node.sshEnvironment : {},
      nodeId: node?.droplet.id,
    },
    { dependsOn: node ? [node.readiness] : [] },
  );

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
      { providers: [provider], dependsOn: node ? [node.readiness] : [] },
    );

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
    /** What the droplet costs, from DigitalOcean's size list; volume and backups come on top. */
    monthlyCost: size && {
      size: size.slug,
      usdPerMonth: size.priceMonthly,
      vcpus: size.vcpus,
      memoryMiB: size.memory,
      diskGiB: size.disk,
    },
  });
};

/** The proxy's plan, or a run error naming what in the Stackfile keeps it from fronting it. */
function proxyPlan(config: DropstackConfig, spec: StackSpec): ProxyPlan | undefined {
  try {
    return planProxy(config, spec);
  } catch (e) {
    if (e instanceof ProxyError) throw runError(`${spec.file}: ${e.message}`);
    throw e;
  }
}

/**
 * What the program asks DigitalOcean before anything is made: its regions, the size, and the
 * domain's zone with manageDns. Asked at once (each is a round trip to its API, and a preview or
 * up waits for them), then checked in the order that blames the right key: a mistyped region
 * before the size, which would otherwise be said not to be offered there.
 */
async function askDigitalOcean(config: DropstackConfig) {
  const [regions, sizes, domains] = await Promise.allSettled([
    digitalocean.getRegions(),
    digitalocean.getSizes({ filters: [{ key: "slug", values: [config.size] }] }),
    config.manageDns
      ? digitalocean.getDomains({
          filters: [{ key: "name", values: candidateZones(config.domain) }],
        })
      : Promise.resolve(undefined),
  ]);
  checkRegion(config.region, answer("its regions", regions).regions);
  const size = dropletSize(config.size, config.region, answer("its droplet sizes", sizes).sizes);
  const zones = answer("the domains in your account", domains);
  const dnsRecord = zones && dnsZone(config.domain, zones.domains);
  return { size, dnsRecord };
}

/**
 * A lookup's answer, or a run error saying what could not be asked and why, in the provider's
 * words without its call chain: an unreachable API or a bad token otherwise ended the program
 * with a stack trace (measured on the real engine).
 */
function answer<T>(what: string, result: PromiseSettledResult<T>): T {
  if (result.status === "fulfilled") return result.value;
  throw runError(
    `Could not ask DigitalOcean for ${what}: ${apiProblem(result.reason)}. Check the API token ` +
      "(DIGITALOCEAN_TOKEN, or `npx pulumi config set --secret digitalocean:token`) and that this " +
      "machine reaches DigitalOcean's API",
  );
}

/** The provider's own reason from a failed invoke ("… 1 error occurred:\n\t* <reason>"). */
function apiProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const reasons = message
    .split("\n")
    .map((line) => /^\s*\* (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined);
  return reasons.length > 0 ? reasons.join("; ") : message.trim().split("\n")[0];
}

/**
 * Fails with the config key and the nearest slugs when DigitalOcean has no such region, before
 * the size check, which would blame the size for a mistyped region.
 */
function checkRegion(slug: string, regions: digitalocean.GetRegionsResult["regions"]): void {
  if (regions.some((r) => r.slug === slug)) return;
  // A region closed to new droplets (nyc2, ams2, sfo1) passes: an older stack's droplet may be
  // there. A new one is stopped by the size check, as no size lists such a region.
  const open = regions
    .filter((r) => r.available)
    .map((r) => r.slug)
    .sort();
  const near = nearestAll(slug, open);
  const guess =
    near.length === 0
      ? ""
      : `did you mean ${near.length > 1 ? `${near.slice(0, -1).join(", ")} or ` : ""}${near.at(-1)}? `;
  throw runError(
    `dropstack:region: ${JSON.stringify(slug)} is not a region DigitalOcean offers; ${guess}` +
      `${guess === "" ? "the" : "The"} regions that take new droplets: ${open.join(", ")}`,
  );
}

/** The size from DigitalOcean's own list; fails with the config key when it offers no such size. */
function dropletSize(
  slug: string,
  region: string,
  sizes: digitalocean.GetSizesResult["sizes"],
): digitalocean.GetSizesResult["sizes"][number] {
  const list =
    "list them with `doctl compute size list` or see the control panel's Create Droplet page";
  if (sizes.length === 0)
    throw runError(
      `dropstack:size: ${JSON.stringify(slug)} is not a size DigitalOcean offers; ${list}`,
    );
  const [size] = sizes;
  // Checked here, before anything is made, rather than by the droplet's create failing.
  if (!size.available)
    throw runError(
      `dropstack:size: ${JSON.stringify(slug)} cannot be ordered now (DigitalOcean lists it as unavailable); choose another size, ${list}`,
    );
  if (!size.regions.includes(region))
    throw runError(
      `dropstack:size: ${JSON.stringify(slug)} is not offered in ${region}; it is in ${[...size.regions].sort().join(", ")}. Choose another size or region`,
    );
  return size;
}

/** The DNS zone in the DigitalOcean account that holds `domain`; fails before anything is made. */
function dnsZone(
  domain: string,
  domains: digitalocean.GetDomainsResult["domains"],
): { zone: string; name: string; domain: string } {
  const record = recordFor(
    domain,
    domains.map((d) => d.name),
  );
  if (record === undefined) {
    throw runError(
      `dropstack:manageDns: no domain in your DigitalOcean account holds ${JSON.stringify(domain)}; add ` +
        `${candidateZones(domain).slice(-1)[0]} (or a zone under it) in the control panel's Networking > Domains ` +
        "and point its registrar at DigitalOcean's name servers, or set manageDns to false and make the A record yourself",
    );
  }
  return { ...record, domain };
}

/** Parses the Stackfile at `file`; messages name it as the user wrote it, `shown`. */
function loadStackfile(
  file: string,
  shown: string,
  vars: Record<string, pulumi.Input<string>>,
  tags: string[],
  cluster: boolean,
): StackSpec {
  if (!fs.existsSync(file)) {
    throw runError(
      `dropstack:stackfile: ${JSON.stringify(shown)} does not exist (paths are relative to the project folder)`,
    );
  }
  try {
    const { spec, warnings } = parseStackfile(fs.readFileSync(file, "utf8"), shown, {
      vars: Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [
          k,
          typeof v === "string" ? v : { secret: true as const },
        ]),
      ),
      nodeTags: tags,
      cluster,
    });
    warnings.forEach((w) => pulumi.log.warn(formatDiagnostic(w)));
    const onSwarm = cluster ? spec.services.flatMap(swarmProblems) : [];
    if (onSwarm.length > 0) {
      throw runError(
        `${shown} cannot run on a cluster (dropstack:nodes above 1):\n  - ` +
          onSwarm.map((p) => `service "${p.service}": ${p.message}`).join("\n  - "),
      );
    }
    return spec;
  } catch (e) {
    if (e instanceof StackfileError) throw runError(e.message);
    throw e;
  }
}
