// Checks that span services: what links and volumes_from name exists, nothing depends on
// itself in a circle, and no two containers want the same host port.
import { ServiceSpec } from "./types";

export interface GraphProblem {
  service: string;
  /** The key the problem is about, for its position. */
  key: string;
  /** The item of that key's list the problem is about, if one. */
  index?: number;
  message: string;
}

/** The services each service must start after: those it links to or takes volumes from. */
export function dependencies(service: ServiceSpec): string[] {
  return [
    ...new Set([
      ...service.links.map((l) => l.service),
      ...service.volumesFrom.map((v) => v.service),
    ]),
  ];
}

/** Docker Cloud's resource UUIDs, which its API resolved. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Problems between services. `names` are all the Stackfile's services, `services` those that
 * could be read: a link to a service with problems of its own is not reported again.
 */
export function checkGraph(
  services: ServiceSpec[],
  names: Set<string> = new Set(services.map((s) => s.name)),
  cluster = false,
): GraphProblem[] {
  return [
    ...unknownTargetProblems(services, names),
    ...cycleProblems(services),
    ...macAddressProblems(services),
    ...portProblems(services, cluster),
  ];
}

/** Links and volumes_from that name no service of this Stackfile. */
function unknownTargetProblems(services: ServiceSpec[], names: Set<string>): GraphProblem[] {
  const problems: GraphProblem[] = [];
  for (const s of services) {
    for (const [key, targets] of [
      ["links", s.links.map((l) => l.service)],
      ["volumes_from", s.volumesFrom.map((v) => v.service)],
    ] as const) {
      for (const [index, target] of targets.entries()) {
        if (names.has(target)) continue;
        problems.push({
          service: s.name,
          key,
          index,
          message: unknownTargetMessage(target, names),
        });
      }
    }
  }
  return problems;
}

/** Why a link or volumes_from target is not a service of this Stackfile. */
function unknownTargetMessage(target: string, names: Set<string>): string {
  const dot = target.indexOf(".");
  return UUID.test(target)
    ? `"${target}" is a Docker Cloud service UUID; Docker Cloud resolved it through its API, which is gone. ` +
        `Link to the service by its name in this Stackfile instead: ${[...names].join(", ")}`
    : dot > 0
      ? `"${target}" names service "${target.slice(0, dot)}" of another stack ("${target.slice(dot + 1)}"); ` +
        "dropstack deploys one Stackfile per node, so put that service in this Stackfile"
      : `"${target}" is not a service in this Stackfile; services: ${[...names].join(", ")}`;
}

/** A dependency circle, reported on the link or volumes_from that starts it. */
function cycleProblems(services: ServiceSpec[]): GraphProblem[] {
  const cycle = findCycle(services);
  if (!cycle) return [];
  const first = services.find((s) => s.name === cycle[0])!;
  const linkIndex = first.links.findIndex((l) => l.service === cycle[1]);
  return [
    {
      service: cycle[0],
      key: linkIndex >= 0 ? "links" : "volumes_from",
      index:
        linkIndex >= 0 ? linkIndex : first.volumesFrom.findIndex((v) => v.service === cycle[1]),
      message: `services depend on each other in a circle: ${cycle.join(" -> ")}; one of these links must go`,
    },
  ];
}

/** A mac_address where it cannot hold: net: host, or more than one container. */
function macAddressProblems(services: ServiceSpec[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  for (const s of services) {
    if (s.macAddress === undefined) continue;
    if (s.replicas > 1 || s.networkMode === "host")
      problems.push({
        service: s.name,
        key: "mac_address",
        message:
          s.networkMode === "host"
            ? "mac_address has no meaning with net: host, where the container shares the node's network"
            : `mac_address is one address but target_num_containers is ${s.replicas}: containers on one network need different addresses`,
      });
  }
  return problems;
}

/** Host ports published twice, or fixed for more than one container on a single node. */
function portProblems(services: ServiceSpec[], cluster: boolean): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const published = new Map<string, string>();
  for (const s of services) {
    for (const [index, p] of s.ports.entries()) {
      if (p.host === undefined || s.networkMode === "host") continue;
      const key = `${p.host}/${p.protocol}`;
      const other = published.get(key);
      if (other !== undefined) {
        problems.push({
          service: s.name,
          key: "ports",
          index,
          message: `host port ${key} is already published by service "${other}"`,
        });
      }
      published.set(key, s.name);
      // On a cluster, Swarm's routing mesh publishes the port once for all the replicas.
      if (s.replicas > 1 && !cluster) {
        problems.push({
          service: s.name,
          key: "ports",
          index,
          message: `host port ${key} is fixed but target_num_containers is ${s.replicas}: only one container can have it; publish "${p.container}" for ephemeral host ports`,
        });
      }
    }
  }
  return problems;
}

/** A dependency circle as service names (first repeated at the end), if there is one. */
function findCycle(services: ServiceSpec[]): string[] | undefined {
  const byName = new Map(services.map((s) => [s.name, s]));
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "visiting");
    stack.push(name);
    for (const dep of dependencies(byName.get(name)!)) {
      // A link to a service that is missing or could not be read is reported on its own.
      if (!byName.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const s of services) {
    const found = visit(s.name);
    if (found) return found;
  }
  return undefined;
}

/** Services in an order where each comes after what it depends on. */
export function startOrder(services: ServiceSpec[]): ServiceSpec[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const done = new Set<string>();
  const out: ServiceSpec[] = [];
  const visit = (s: ServiceSpec) => {
    if (done.has(s.name)) return;
    done.add(s.name);
    dependencies(s).forEach((d) => visit(byName.get(d)!));
    out.push(s);
  };
  services.forEach(visit);
  return out;
}
