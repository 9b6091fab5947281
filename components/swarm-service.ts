// What a Swarm service is made of, computed from its Stackfile service: the options every service
// shares (stop grace, restart timing, how it is replaced), the image it runs, its mounts, and its
// task spec piece by piece. Pure functions: SwarmStack (swarm-stack.ts) creates the resources.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { runError } from "../runtime";
import {
  DATA_NODE_LABEL,
  dataNodeTagProblem,
  linkEnvironment,
  swarmDuration,
  type ExposedPort,
  type ServiceSpec,
  type SwarmService,
} from "../stackfile";
import { anonymousSource, dataSource } from "./data-paths";
import { imageReference } from "./stack";
import type { SwarmStackArgs } from "./swarm-stack";

/** A Swarm service's stop grace period: Docker's default, 10 s, said outright. */
export const STOP_GRACE_PERIOD = "10s";

/**
 * A Swarm service's restart timing: Docker's defaults (5 s between restarts, no limit, no
 * window), said outright, since the provider sends 0 for what it is not given, and Swarm would
 * then restart a crashing task without pause. Spelt as the provider reads them back.
 */
export const RESTART_TIMING = { delay: "5s", maxAttempts: 0, window: "0s" };

/**
 * How a Swarm service is replaced: the old one first, since the new one has its name (Swarm:
 * "name conflicts with an existing object") and may publish its ports; and when its mode changes
 * between replicated and global, which Swarm cannot update in place ("service mode change is not
 * allowed").
 */
export const SERVICE_REPLACEMENT: pulumi.CustomResourceOptions = {
  deleteBeforeReplace: true,
  replaceOnChanges: ["mode"],
};

/**
 * The image a Swarm service runs: a pulled one by the digest the first node pulled (Swarm would
 * pin it so anyway, on create only, and the provider would then see a change on every up); a
 * built one by its content tag, the same on every node.
 */
export function serviceImageReference(
  service: ServiceSpec,
  stackfileDir: string,
  image: docker.RemoteImage,
): pulumi.Input<string> {
  const reference = imageReference(service, stackfileDir);
  if (service.build) return reference;
  return image.repoDigest.apply((digest) => (digest ? digest : reference));
}

const swarmTiming = (go: string | undefined) => (go === undefined ? undefined : swarmDuration(go));

/** A bind mount of a Swarm service, as the Docker provider takes it. */
export interface SwarmMount {
  type: "bind";
  source: string;
  target: string;
  readOnly: boolean;
}

/**
 * The bind mounts of `service` on a cluster, each with whether its source is on the data
 * volume: a host path as written; relative, named and anonymous volumes under
 * `<dataPath>/<service>/` on the data node, where the service is pinned (swarmService's
 * constraints).
 */
export function swarmMounts(
  service: ServiceSpec,
  dataPath: string,
): { mount: SwarmMount; onDataNode: boolean }[] {
  return service.volumes.map((v) => {
    const onDataNode = v.source === undefined || v.onDataVolume;
    const source = !onDataNode
      ? v.source!
      : v.source === undefined
        ? anonymousSource(dataPath, service.name, v.target)
        : dataSource(dataPath, service.name, v.source);
    return { mount: { type: "bind", source, target: v.target, readOnly: v.readOnly }, onDataNode };
  });
}

/**
 * The folders a cluster's services bind-mount, which must exist before their tasks start: unlike
 * `docker run -v`, Swarm creates no bind source, and rejects the task ("bind source path does not
 * exist") again and again. Those on the data volume go on the data node, host paths on every node
 * (any may run the service). Sorted, each once.
 */
export function swarmBindSources(
  services: ServiceSpec[],
  dataPath: string,
): { dataNode: string[]; everyNode: string[] } {
  const mounts = services.flatMap((s) => swarmMounts(s, dataPath));
  const sources = (onDataNode: boolean) =>
    [
      ...new Set(mounts.filter((m) => m.onDataNode === onDataNode).map((m) => m.mount.source)),
    ].sort();
  return { dataNode: sources(true), everyNode: sources(false) };
}

/** What one Swarm service is made from, beyond its Stackfile service. */
export interface ServiceContext {
  args: SwarmStackArgs;
  network: docker.Network;
  images: docker.RemoteImage[];
  imagePorts: pulumi.Output<Record<string, ExposedPort[]>>;
  resolve: (text: string) => pulumi.Input<string>;
  /** The volumes its image declares that the Stackfile does not place. */
  declared: pulumi.Output<string[]>;
  /** The step that makes their folders on the data node. */
  declaredFolders: pulumi.Resource;
}

/**
 * A service's environment, its secrets resolved. The Stackfile's environment wins over link
 * variables of the same name, as in Docker Cloud.
 */
function serviceEnvironment(
  service: ServiceSpec,
  services: ServiceSpec[],
  imagePorts: pulumi.Output<Record<string, ExposedPort[]>>,
  resolve: (text: string) => pulumi.Input<string>,
): pulumi.Output<Record<string, string>> {
  return pulumi.output(imagePorts).apply((ports) =>
    pulumi
      .all(
        Object.entries({
          ...linkEnvironment(service, services, ports),
          ...service.environment,
        }).map(([k, v]) => pulumi.output(resolve(v)).apply((value) => [k, value] as const)),
      )
      .apply((pairs) => Object.fromEntries(pairs)),
  );
}

/** A service's bind mounts: those the Stackfile places, then those its image declares. */
function serviceMounts(service: ServiceSpec, dataPath: string, declared: pulumi.Output<string[]>) {
  const placed = swarmMounts(service, dataPath).map((m) => m.mount);
  return declared.apply((targets) => [
    ...placed,
    ...targets.map((target) => ({
      type: "bind",
      source: anonymousSource(dataPath, service.name, target),
      target,
      readOnly: false,
    })),
  ]);
}

/**
 * A service's placement constraints: a service whose image keeps data runs on the data node too,
 * as one with data volumes does.
 */
function serviceConstraints(
  service: ServiceSpec,
  plan: SwarmService,
  declared: pulumi.Output<string[]>,
  dataNodeTags: string[],
): pulumi.Output<string[]> {
  return declared.apply((targets) => {
    const constraints = placedWithImageVolumes(service, plan, targets, dataNodeTags);
    if (constraints !== plan.constraints)
      pulumi.log.warn(
        `service "${service.name}" keeps the volumes its image declares (${targets.join(", ")}) ` +
          "on the first node's data volume, so Swarm runs it on that node only: it does not move if that node fails",
      );
    return constraints;
  });
}

/**
 * `plan`'s constraints once the volumes `service`'s image declares (`targets`) are known: pinned
 * to the data node, where dropstack keeps them, unless already. Throws (a RunError) when the data
 * node lacks a tag the service asks (found by the emulated cluster: such a service's tasks waited,
 * pending, with no error). `dataNodeTags`: the first node's tags.
 */
export function placedWithImageVolumes(
  service: ServiceSpec,
  plan: SwarmService,
  targets: string[],
  dataNodeTags: string[],
): string[] {
  const pin = `node.labels.${DATA_NODE_LABEL} == true`;
  if (targets.length === 0 || plan.constraints.includes(pin)) return plan.constraints;
  const unplaceable = dataNodeTagProblem(
    service,
    dataNodeTags,
    `its image declares volumes (${targets.join(", ")}), which dropstack keeps on the first node's data volume`,
  );
  if (unplaceable !== undefined) throw runError(`service "${service.name}": ${unplaceable}`);
  return [pin, ...plan.constraints];
}

/** A service's labels, their secrets resolved; none when it has none. */
function serviceLabels(
  service: ServiceSpec,
  resolve: (text: string) => pulumi.Input<string>,
): docker.types.input.ServiceTaskSpecContainerSpecLabel[] | undefined {
  return Object.keys(service.labels).length > 0
    ? Object.entries(service.labels).map(([label, value]) => ({
        label,
        value: resolve(value),
      }))
    : undefined;
}

/** A service's healthcheck, in the spelling the provider reads a service's back in. */
function serviceHealthcheck(
  service: ServiceSpec,
  resolve: (text: string) => pulumi.Input<string>,
): docker.types.input.ServiceTaskSpecContainerSpecHealthcheck | undefined {
  return (
    service.healthcheck && {
      tests: service.healthcheck.test.map(resolve),
      interval: swarmTiming(service.healthcheck.interval),
      timeout: swarmTiming(service.healthcheck.timeout),
      startPeriod: swarmTiming(service.healthcheck.startPeriod),
      retries: service.healthcheck.retries,
    }
  );
}

/** The container a service's tasks run: image, environment, mounts and the Stackfile's options. */
function serviceContainerSpec(
  service: ServiceSpec,
  context: ServiceContext,
): docker.types.input.ServiceTaskSpecContainerSpec {
  const { args, images, imagePorts, resolve, declared } = context;
  return {
    image: serviceImageReference(service, args.stackfileDir, images[0]),
    env: serviceEnvironment(service, args.spec.services, imagePorts, resolve),
    commands: service.entrypoint?.map(resolve),
    args: service.command?.map(resolve),
    mounts: serviceMounts(service, args.dataPath, declared),
    user: service.user,
    dir: service.workingDir,
    hostname: service.hostname,
    readOnly: service.readOnly,
    capAdds: service.capAdd.length > 0 ? service.capAdd : undefined,
    capDrops: service.capDrop.length > 0 ? service.capDrop : undefined,
    hosts:
      service.extraHosts.length > 0
        ? service.extraHosts.map((h) => ({ host: h.host, ip: h.ip }))
        : undefined,
    dnsConfig:
      service.dns.length > 0
        ? { nameservers: service.dns, searches: service.dnsSearch }
        : undefined,
    labels: serviceLabels(service, resolve),
    healthcheck: serviceHealthcheck(service, resolve),
    // Docker's own default, said: left out, the provider sends 0 and Swarm would kill
    // the container at once on every update or removal.
    stopGracePeriod: STOP_GRACE_PERIOD,
  };
}

/** A service's task spec: its container, network, placement, restarts and memory limit. */
export function serviceTaskSpec(
  service: ServiceSpec,
  plan: SwarmService,
  context: ServiceContext,
): docker.types.input.ServiceTaskSpec {
  return {
    containerSpec: serviceContainerSpec(service, context),
    networksAdvanceds: [{ id: context.network.id, aliases: plan.aliases }],
    placement: {
      constraints: serviceConstraints(service, plan, context.declared, context.args.dataNodeTags),
    },
    restartPolicy: { condition: plan.restartCondition, ...RESTART_TIMING },
    resources:
      service.memLimit === undefined ? undefined : { limits: { memoryBytes: service.memLimit } },
  };
}

/**
 * A service's published ports, and how its names resolve (SwarmService.endpointMode): both always
 * given, so a port the Stackfile no longer publishes is unpublished, and the mode follows (the
 * provider would otherwise keep the last one, and Swarm refuses ingress ports without a VIP).
 */
export function serviceEndpointSpec(
  service: ServiceSpec,
  plan: SwarmService,
): docker.types.input.ServiceEndpointSpec {
  return {
    mode: plan.endpointMode,
    ports: service.ports.map((p) => ({
      targetPort: p.container,
      publishedPort: p.host,
      protocol: p.protocol,
      publishMode: "ingress",
    })),
  };
}
