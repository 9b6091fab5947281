// What Docker Cloud's cluster keys mean on a Docker Swarm cluster (dropstack:nodes above 1), as
// one pure mapping that the program's Swarm services and the `docker stack deploy` export share.
// No scheduler of our own: Swarm places the tasks; this only says what it must respect.
import { aliasesOf } from "./links";
import type { RestartPolicy, ServiceSpec } from "./types";

/** The label of the node that holds the data volume: services with data run only there. */
export const DATA_NODE_LABEL = "dropstack.data";

/** The node label a Stackfile tag becomes (dropstack:nodeTags sets them per node). */
export function tagLabel(tag: string): string {
  return `dropstack.tag.${tag}`;
}

/** How one Stackfile service runs as a Swarm service. */
export interface SwarmService {
  /**
   * `every_node`: one task on every node (Swarm's global mode). Otherwise target_num_containers
   * tasks, which Swarm's scheduler spreads over the nodes: it puts each task on the node with the
   * fewest tasks of the service, and of those the emptiest, which is what both
   * `high_availability` and `emptiest_node` asked Docker Cloud for.
   */
  mode: { replicas: number } | "global";
  /** Placement constraints: the data node for a service with data, one per tag. */
  constraints: string[];
  /** sequential_deployment: one task at a time on update; otherwise all at once (0). */
  updateParallelism: number;
  /** The Stackfile's restart, in Swarm's words. */
  restartCondition: "none" | "on-failure" | "any";
  /** The service keeps data on the data volume, so it runs on the data node only. */
  onDataNode: boolean;
  /**
   * Its names on the stack's overlay network: its own, the aliases services link to it by, and
   * `svc-N` for each replica (as the compose export does: Swarm's tasks share their service's
   * names, so `svc-2` reaches one of them), so every host a link variable names resolves.
   */
  aliases: string[];
  /**
   * How its names resolve on the overlay network. `dnsrr`, to its tasks' own addresses, for a
   * service that publishes no port: nothing of Swarm's load balancing stands between services, so
   * links need no IPVS (a virtual IP is only as good as the node's IPVS, and a task's address is
   * what Docker Cloud's DNS gave too). `vip` for a service that publishes ports: Swarm's routing
   * mesh, which publishes a port once for all its tasks on every node, needs a virtual IP.
   */
  endpointMode: "vip" | "dnsrr";
}

const RESTART: Record<RestartPolicy, SwarmService["restartCondition"]> = {
  no: "none",
  "on-failure": "on-failure",
  always: "any",
  "unless-stopped": "any",
};

export function swarmService(service: ServiceSpec, services: ServiceSpec[]): SwarmService {
  const onDataNode = service.volumes.some((v) => v.onDataVolume || v.source === undefined);
  const linkAliases = aliasesOf(service, services);
  return {
    mode: service.deploymentStrategy === "every_node" ? "global" : { replicas: service.replicas },
    constraints: [
      ...(onDataNode ? [`node.labels.${DATA_NODE_LABEL} == true`] : []),
      ...service.tags.map((tag) => `node.labels.${tagLabel(tag)} == true`),
    ],
    updateParallelism: service.sequential ? 1 : 0,
    restartCondition: RESTART[service.restart],
    onDataNode,
    aliases: [
      ...new Set([
        service.name,
        ...linkAliases,
        ...[service.name, ...linkAliases].flatMap((a) =>
          Array.from({ length: service.replicas }, (_, i) => `${a}-${i + 1}`),
        ),
      ]),
    ],
    endpointMode: service.ports.length > 0 ? "vip" : "dnsrr",
  };
}

/** A key a Swarm service cannot honour, and why. */
export interface SwarmProblem {
  service: string;
  key: string;
  message: string;
}

/**
 * What in `service` no Swarm service can do (Docker's service API, or the Docker provider's
 * service resource, has no such option). Each is an error on a cluster, naming the key; the
 * service runs as written on one node.
 */
export function swarmProblems(service: ServiceSpec): SwarmProblem[] {
  const unsupported: [string, boolean][] = [
    ["volumes_from", service.volumesFrom.length > 0],
    ["net", service.networkMode === "host"],
    ["pid", service.pidMode !== undefined],
    ["privileged", service.privileged === true],
    ["devices", service.devices.length > 0],
    ["mac_address", service.macAddress !== undefined],
    ["cgroup_parent", service.cgroupParent !== undefined],
    ["cpu_shares", service.cpuShares !== undefined],
    ["cpuset", service.cpuset !== undefined],
    ["memswap_limit", service.memswapLimit !== undefined],
    ["security_opt", service.securityOpt.length > 0],
    ["domainname", service.domainname !== undefined],
    ["stdin_open", service.stdinOpen === true],
    ["tty", service.tty === true],
  ];
  return unsupported
    .filter(([, set]) => set)
    .map(([key]) => ({
      service: service.name,
      key,
      message:
        `${key} cannot run on a Swarm cluster: a Swarm service, as dropstack creates it, has no ` +
        "such option. Remove it, or deploy this Stackfile on one node (dropstack:nodes 1)",
    }));
}

/**
 * Why `service`, which runs on the data node (the first), could never be placed: it asks a tag
 * that node lacks, and its tasks would wait, pending, for ever; undefined when it can.
 * `dataNodeTags`: the first node's tags. `why`: why it runs on the data node.
 */
export function dataNodeTagProblem(
  service: ServiceSpec,
  dataNodeTags: readonly string[],
  why = "its data is on the first node's data volume",
): string | undefined {
  const missing = service.tags.filter((t) => !dataNodeTags.includes(t));
  if (missing.length === 0) return undefined;
  return (
    `${why}, so Swarm runs it on that node only, which is not tagged ${missing.join(", ")}: ` +
    "Swarm could never place it. Give node 1 the tag with dropstack:nodeTags, or remove the tag"
  );
}

/** The services with data volumes that ask a tag the data node lacks (dataNodeTagProblem). */
export function dataNodeTagProblems(
  services: ServiceSpec[],
  dataNodeTags: readonly string[],
): SwarmProblem[] {
  return services
    .filter((service) => swarmService(service, services).onDataNode)
    .flatMap((service) => {
      const message = dataNodeTagProblem(service, dataNodeTags);
      return message === undefined ? [] : [{ service: service.name, key: "tags", message }];
    });
}
