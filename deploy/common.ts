// What both deploy paths (one node, a Swarm cluster) make after the services: the check that
// ends `up` only when the app answers, and the nodes' DNS records.
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { nodeTag } from "../components";
import type { Node, NodeArgs } from "../components";
import type { DropstackConfig } from "../config";
import { tagFor } from "../config/naming";

/** The node as the config asks for it; on a cluster, the first node (the data node). */
export function firstNodeArgs(config: DropstackConfig, stack: string, prefix: string): NodeArgs {
  return {
    region: config.region,
    size: config.size,
    image: config.image,
    // The stack's own tag on each node, which the swarm firewall of a cluster targets.
    tags: [tagFor(stack), nodeTag(prefix)],
    monitoring: config.monitoring,
    dropletBackups: config.dropletBackups,
    ipv6: config.ipv6,
    volumeSize: config.volumeSize,
    retainDataOnDestroy: config.retainDataOnDestroy,
    dataVolumeId: config.dataVolumeId,
    sshSourceCidrs: config.sshSourceCidrs,
    sshKeyFingerprints: config.sshKeyFingerprints,
    readinessTimeoutMinutes: config.readinessTimeoutMinutes,
    sshDir: path.join(".dropstack", stack),
    resourcePrefix: prefix,
  };
}

/**
 * The stack outputs this stack has: the ones that are undefined (no node on the local target, no
 * CA of its own with tls auto) are left out, since Pulumi warns `Undefined value (<key>) will
 * not show as a stack output` for each on every preview and up.
 */
export function definedOutputs<T extends Record<string, unknown>>(outputs: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(outputs).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** The stack variables set with --secret: their values reach the services as secrets. */
export function secretStackVars(config: DropstackConfig): Record<string, pulumi.Input<string>> {
  return Object.fromEntries(
    Object.entries(config.stackVars).filter(([, v]) => pulumi.Output.isInstance(v)),
  );
}

/**
 * A Docker provider for `node`, over its pinned SSH, once the node is ready and `after` is done:
 * whatever is made through it waits for both.
 */
export function nodeDockerProvider(
  name: string,
  node: Node,
  after: pulumi.Resource[] = [],
): docker.Provider {
  return new docker.Provider(
    name,
    { host: node.dockerHost, sshOpts: node.sshOpts },
    { dependsOn: [node.readiness, ...after] },
  );
}

/**
 * `up` ends only when the app answers, so the URL works the moment it is printed: over HTTPS,
 * with a certificate Node's trust store (Mozilla's, as browsers) accepts, or the stack's own CA.
 * It connects to the node's address, so the user's DNS resolver need not know the domain yet.
 */
export function waitForApp(
  url: pulumi.Output<string>,
  address: pulumi.Output<string>,
  workloads: (docker.Container | docker.Service)[],
  proxy: { name: pulumi.Output<string>; caCertificate?: pulumi.Output<string> } | undefined,
  config: DropstackConfig,
): void {
  new command.local.Command(
    "app-ready",
    {
      create: pulumi.interpolate`node ${path.join("scripts", "wait-http.js")} ${url} ${String(config.readinessTimeoutMinutes * 60)}`,
      environment: {
        DROPSTACK_CONNECT_TO: address,
        ...(proxy ? { DROPSTACK_PROXY_CONTAINER: proxy.name } : {}),
        ...(proxy?.caCertificate ? { DROPSTACK_CA_PEM: proxy.caCertificate } : {}),
      },
      triggers: workloads.map((c) => c.id),
    },
    {
      dependsOn: workloads,
      customTimeouts: { create: `${config.readinessTimeoutMinutes * 60 + 60}s` },
    },
  );
}

/**
 * The domain's A record, deleted with the stack: the first node's address, where the proxy (and
 * the data) are, on a cluster too. One record: round-robin DNS has no health check, so a record
 * for another node would only send some visitors to a node that may be down, and no further
 * than this node.
 */
export function addressRecord(
  record: { zone: string; name: string },
  node: Node,
): digitalocean.DnsRecord {
  // An A record only, even with ipv6: the Docker provider publishes ports on 0.0.0.0, so the
  // proxy answers on IPv4 alone, and an AAAA record would send IPv6 visitors (and Let's
  // Encrypt's validation, which tries IPv6 first) to a port nothing listens on.
  return new digitalocean.DnsRecord("dns-a", {
    domain: record.zone,
    name: record.name,
    ttl: 300,
    type: "A",
    value: node.ipv4Address,
  });
}

/**
 * Why the Docker provider would deploy somewhere else than the node, or undefined. The provider
 * reads DOCKER_CONTEXT from the environment and lets it override the host it is given, so with it
 * set, the node's containers would go to that context (often this machine's Docker).
 */
export function dockerContextProblem(
  target: "digitalocean" | "local",
  dockerContext: string | undefined,
): string | undefined {
  if (target !== "digitalocean" || !dockerContext) return undefined;
  return (
    `DOCKER_CONTEXT is set (${dockerContext}), and the Docker provider would deploy to that ` +
    "context instead of the droplet. Unset it for dropstack: `env -u DOCKER_CONTEXT npx pulumi up`"
  );
}
