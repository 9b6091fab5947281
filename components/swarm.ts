import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { DATA_NODE_LABEL, tagLabel } from "../stackfile";
import type { Node } from "./node";

// Relative to the project folder, where Pulumi runs commands (see READY_SCRIPT in node.ts).
const SWARM_SCRIPT = path.relative(
  process.cwd(),
  path.join(__dirname, "..", "scripts", "swarm.sh"),
);

/**
 * How many of `nodes` are Swarm managers: 1 for one or two nodes (a second manager would make a
 * quorum of two, which survives no loss at all), 3 from three nodes on (a quorum of three survives
 * the loss of one). More managers only slow Raft's writes for a cluster of this size.
 */
export function managerCount(nodes: number): number {
  return nodes >= 3 ? 3 : 1;
}

/** The labels of node `index` (1-based): its number, the data label on the first, its tags. */
export function nodeLabels(index: number, tags: string[]): string[] {
  return [
    `dropstack.node=${index}`,
    ...(index === 1 ? [`${DATA_NODE_LABEL}=true`] : []),
    ...tags.map((t) => `${tagLabel(t)}=true`),
  ];
}

/** Where a swarm's objects live: the swarm (its init) and its manager, the first node's droplet. */
export interface SwarmHome {
  init: pulumi.Resource;
  manager: pulumi.Resource;
}

/**
 * Options for an object made through the swarm's manager (a network, a service, a config, a
 * secret). It is `deletedWith` the swarm: when the swarm goes, in an `up` that shrinks the
 * cluster to one node (whose `swarm.sh disband` has removed it and left the swarm before the
 * node's containers start) or in `destroy` (which deletes the droplets), the provider is not
 * asked to delete it through a node that is no longer a manager. A service, which is deleted
 * before its replacement is made (it has its name), is also replaced with the first node's
 * droplet: so, when that droplet is replaced, the old service is deleted first, through the old
 * manager, where it is; not later through the new one, where it never was (the provider then
 * fails: "service ... not found"; found by the emulated cluster's `up --replace`). The engine
 * reads that option from the state: a stack made before it records it at its next `up`.
 */
export function onSwarm(home: SwarmHome, service = false): pulumi.CustomResourceOptions {
  return { deletedWith: home.init, ...(service ? { replaceWith: [home.manager] } : {}) };
}

/**
 * `swarm.sh stop` of a Swarm service, run by Pulumi just before it deletes the service (a
 * command with only a delete, which depends on the service): its tasks are shut down first, so
 * the Docker provider's delete does not fail waiting for a container that takes its whole stop
 * grace period (found by the emulated cluster: `sleep` as PID 1 ignores SIGTERM). Made again
 * when the service is replaced, so it runs before that delete too; and, like the service,
 * `deletedWith` the swarm, so that nothing runs when the swarm goes.
 */
export function stopBeforeDelete(
  name: string,
  service: docker.Service,
  managerAccess: Record<string, pulumi.Input<string>>,
  home: SwarmHome,
  parent: pulumi.Resource,
): command.local.Command {
  return new command.local.Command(
    `${name}-stop`,
    {
      delete: `sh ${SWARM_SCRIPT} stop`,
      environment: { ...managerAccess, DROPSTACK_SERVICE: service.name },
      triggers: [service.id],
    },
    // As the service: replaced with the first node's droplet and deleted first, so that it runs
    // on the old node while that still answers (found by the emulated cluster's replacement).
    { parent, dependsOn: [service], ...onSwarm(home, true), deleteBeforeReplace: true },
  );
}

/**
 * `swarm.sh prune` once the proxy runs with its current Swarm configs and secrets (`keep`): the
 * ones it ran with before, which Pulumi keeps (see SwarmProxy), are removed.
 */
export function pruneSwarmConfigs(
  name: string,
  keep: pulumi.Input<string | undefined>[],
  prefix: string,
  managerAccess: Record<string, pulumi.Input<string>>,
  after: pulumi.Resource,
  home: SwarmHome,
  parent: pulumi.Resource,
): command.local.Command {
  const names = pulumi.all(keep).apply((k) =>
    k
      .filter((n): n is string => n !== undefined)
      .sort()
      .join(" "),
  );
  return new command.local.Command(
    `${name}-prune`,
    {
      create: `sh ${SWARM_SCRIPT} prune`,
      environment: { ...managerAccess, DROPSTACK_PREFIX: prefix, DROPSTACK_KEEP: names },
      triggers: [names],
    },
    { parent, dependsOn: [after], ...onSwarm(home) },
  );
}

export interface Swarm {
  /** The swarm's home, for what is made through its manager (onSwarm). */
  home: SwarmHome;
  /** Completes when every node has joined and carries its labels. */
  ready: pulumi.Resource[];
}

/** A node's SSH environment for swarm.sh, with its private address. */
function sshEnv(node: Node) {
  return {
    ...node.sshEnvironment,
    DROPSTACK_ADDR: node.privateAddress,
  };
}

/** How swarm.sh reaches the first node, the manager that inits the swarm and labels the nodes. */
function managerEnvironment(first: Node) {
  return {
    DROPSTACK_MANAGER_HOST: first.ipv4Address,
    DROPSTACK_MANAGER_SSH_OPTS: first.sshOpts.apply((o) => o.join(" ")),
    DROPSTACK_MANAGER_ADDR: first.privateAddress,
  };
}

/**
 * `swarm.sh init` on the first node: forms the swarm; its stdout is the join tokens. On a node
 * that ran the stack as a single node (a stack that grows), it first stops and removes the
 * stack's containers and network, so that no service starts beside them (the same data, the
 * same ports).
 */
function initSwarm(first: Node, prefix: string): command.local.Command {
  return new command.local.Command(
    "swarm-init",
    {
      create: `sh ${SWARM_SCRIPT} init`,
      environment: { ...sshEnv(first), DROPSTACK_PREFIX: prefix },
      triggers: [first.droplet.id],
    },
    // The join tokens: secret in the state, never printed.
    { dependsOn: [first.readiness], additionalSecretOutputs: ["stdout"] },
  );
}

/** `swarm.sh join` on node `index` (2 or more), as a manager or a worker, after `after`. */
function joinSwarm(
  node: Node,
  index: number,
  role: "manager" | "worker",
  swarm: {
    first: Node;
    init: command.local.Command;
    managerEnv: ReturnType<typeof managerEnvironment>;
  },
  after: pulumi.Resource,
): command.local.Command {
  const { first, init, managerEnv } = swarm;
  return new command.local.Command(
    `swarm-join-${index}`,
    {
      create: `sh ${SWARM_SCRIPT} join`,
      // Leaves the swarm (and is forgotten by it) when the node goes.
      delete: `sh ${SWARM_SCRIPT} leave`,
      stdin: pulumi.secret(init.stdout),
      environment: {
        ...sshEnv(node),
        ...managerEnv,
        DROPSTACK_ROLE: role,
        DROPSTACK_NODE: node.hostname,
      },
      triggers: [node.droplet.id, first.droplet.id],
    },
    { dependsOn: [node.readiness, after] },
  );
}

/** `swarm.sh label` from the first node: gives node `index` its labels once it has joined. */
function labelNode(
  node: Node,
  index: number,
  tags: string[],
  managerEnv: ReturnType<typeof managerEnvironment>,
  joined: pulumi.Resource,
): command.local.Command {
  const labels = nodeLabels(index, tags);
  return new command.local.Command(
    `swarm-labels-${index}`,
    {
      create: `sh ${SWARM_SCRIPT} label`,
      environment: {
        ...managerEnv,
        DROPSTACK_NODE: node.hostname,
        DROPSTACK_LABELS: labels.join(" "),
      },
      triggers: [node.droplet.id, labels.join(" ")],
    },
    { dependsOn: [joined] },
  );
}

/**
 * Forms the Docker Swarm over `nodes` (the first inits it, the others join, managers first, one
 * after the other), over each node's pinned SSH; labels every node from the first. Top-level
 * resources, so a stack that grows from one node keeps the first node's as they are.
 */
export function formSwarm(
  nodes: Node[],
  nodeTags: Record<string, string[]>,
  prefix: string,
): Swarm {
  const [first] = nodes;
  const managerEnv = managerEnvironment(first);
  const init = initSwarm(first, prefix);

  const managers = managerCount(nodes.length);
  const ready: pulumi.Resource[] = [];
  let previousManager: pulumi.Resource = init;
  nodes.forEach((node, i) => {
    const index = i + 1;
    let joined: pulumi.Resource = init;
    if (index > 1) {
      const role = index <= managers ? "manager" : "worker";
      // Managers join one at a time, so the Raft quorum grows a member at a time.
      const after = role === "manager" ? previousManager : init;
      const join = joinSwarm(node, index, role, { first, init, managerEnv }, after);
      if (role === "manager") previousManager = join;
      joined = join;
    }
    ready.push(labelNode(node, index, nodeTags[String(index)] ?? [], managerEnv, joined));
  });
  return { home: { init, manager: first.droplet }, ready };
}

/**
 * `swarm.sh disband` on a single node, before its containers: where the node still runs the
 * stack's swarm (a cluster shrunk to one node), it removes the stack's services, waits for their
 * containers to stop, leaves the swarm and turns live-restore back on; elsewhere it does nothing.
 * The swarm's objects in the state go without a call (Swarm.init), and the other nodes leave as
 * their joins are deleted.
 */
export function disbandSwarm(node: Node, prefix: string): command.local.Command {
  return new command.local.Command(
    "swarm-disband",
    {
      create: `sh ${SWARM_SCRIPT} disband`,
      environment: { ...node.sshEnvironment, DROPSTACK_PREFIX: prefix },
      triggers: [node.droplet.id],
    },
    { dependsOn: [node.readiness] },
  );
}

/**
 * Makes the folders the cluster's services bind-mount, before any of them starts (see
 * swarmBindSources): on the data node those on the data volume, on every node the host paths.
 * Run again when the node is replaced or the list changes; deleting one removes nothing, so no
 * data goes with it.
 */
export function prepareBindSources(
  nodes: Node[],
  sources: { dataNode: string[]; everyNode: string[] },
): command.local.Command[] {
  return nodes.flatMap((node, i) => {
    const paths = [...(i === 0 ? sources.dataNode : []), ...sources.everyNode];
    if (paths.length === 0) return [];
    return [
      makeFolders(`swarm-dirs-${i + 1}`, paths, node.sshEnvironment, node.droplet.id, {
        // The first node's data volume is mounted once cloud-init is done, before readiness.
        dependsOn: [node.readiness],
      }),
    ];
  });
}

/**
 * `swarm.sh dirs` on one node: makes the folders in `paths` that are missing. Run again when the
 * node (its droplet `nodeId`) is replaced or the list changes.
 */
export function makeFolders(
  name: string,
  paths: pulumi.Input<string[]>,
  sshEnvironment: Record<string, pulumi.Input<string>>,
  nodeId: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): command.local.Command {
  const list = pulumi.output(paths).apply((ps) => ps.map((p) => `${p}\n`).join(""));
  return new command.local.Command(
    name,
    {
      create: `sh ${SWARM_SCRIPT} dirs`,
      stdin: list,
      environment: sshEnvironment,
      triggers: [nodeId, list],
    },
    opts,
  );
}

/** Docker Swarm's ports: cluster management, node gossip, the overlay network's traffic. */
export const SWARM_PORTS = [
  { protocol: "tcp", portRange: "2377" },
  { protocol: "tcp", portRange: "7946" },
  { protocol: "udp", portRange: "7946" },
  { protocol: "udp", portRange: "4789" },
];

/**
 * The tag every node of the stack carries, a single node's too (so a stack that grows keeps its
 * first droplet exactly as it was): the swarm firewall's targets and sources.
 */
export function nodeTag(prefix: string): string {
  return prefix;
}

/**
 * Opens Swarm's ports on the cluster's droplets to those droplets only. The nodes sit in the
 * region's default VPC, as a single node does, so a stack that grows keeps its first droplet
 * (a VPC of its own would replace it: vpc_uuid forces a new droplet, with a new address); a
 * DigitalOcean firewall filters the VPC's traffic too, so other droplets there reach none of
 * these ports. Each node's own firewall keeps 22, 80 and 443.
 *
 * By the nodes' tag (nodeTag), not their droplet IDs: a replaced node then changes nothing
 * here. With IDs in its rules, a replaced first node could not even be planned: the engine diffs
 * the firewall with the new ID unknown, and the DigitalOcean provider then counts no rule ("At
 * least one rule must be specified"; found by the emulated cluster's `up --replace`). After the
 * droplets, which make the tag (DigitalOcean makes a droplet's new tags; a firewall's must exist).
 */
export function swarmFirewall(prefix: string, nodes: Node[]): digitalocean.Firewall {
  const tag = nodeTag(prefix);
  return new digitalocean.Firewall(
    "swarm-firewall",
    {
      name: `${prefix}-swarm`,
      tags: [tag],
      inboundRules: SWARM_PORTS.map((rule) => ({ ...rule, sourceTags: [tag] })),
    },
    { dependsOn: nodes.map((node) => node.droplet) },
  );
}
