import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  DATA_NODE_LABEL,
  linkEnvironment,
  startOrder,
  swarmDuration,
  swarmService,
  type ExposedPort,
  type ServiceSpec,
  type StackSpec,
  type SwarmService,
} from "../stackfile";
import { swarmName } from "../config/naming";
import { anonymousSource, dataSource } from "./data-paths";
import { onNode } from "./on-node";
import { stackSecrets } from "./secrets";
import {
  imageReference,
  imageResourceName,
  imageVolumes,
  linkedImagePorts,
  serviceImage,
} from "./stack";
import { makeFolders } from "./swarm";

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

export interface SwarmStackArgs {
  /** The parsed Stackfile, parsed for a cluster (swarmProblems already reported). */
  spec: StackSpec;
  /** The Stackfile's folder: `build` contexts are relative to it. */
  stackfileDir: string;
  /** The Docker provider of the first node, a manager: services are made through it. */
  manager: docker.Provider;
  /** The Docker provider of every node, the first included: built images are built on each. */
  nodeProviders: docker.Provider[];
  /**
   * Each node's droplet ID, in the order of nodeProviders (see onNode): an image is replaced
   * with its node's droplet, the network and the services with the first node's, where the
   * swarm is formed.
   */
  nodeIds: pulumi.Input<string>[];
  /** Values of the secret variables the Stackfile uses (from stackVars set with --secret). */
  secretVars?: Record<string, pulumi.Input<string>>;
  /** Prefix of service, network and config names. */
  prefix: string;
  /** Where on the data node service data goes (`<dataPath>/<service>/…`). */
  dataPath: string;
  /** How scripts/image-inspect.sh reaches the first node (DROPSTACK_HOST, DROPSTACK_SSH_OPTS). */
  dockerAccess: Record<string, pulumi.Input<string>>;
  /** What must be done before any service is made: the folders they bind-mount. */
  after?: pulumi.Resource[];
}

/** What one Swarm service is made from, beyond its Stackfile service. */
interface ServiceContext {
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
 * Every image a stack's services run, by image resource name: on the first node (pulled or
 * built), built ones on the other nodes too.
 */
function stackImages(
  name: string,
  args: SwarmStackArgs,
  resolve: (text: string) => pulumi.Input<string>,
  parent: pulumi.Resource,
): Map<string, docker.RemoteImage[]> {
  const images = new Map<string, docker.RemoteImage[]>();
  for (const service of args.spec.services) {
    const key = imageResourceName(name, service);
    if (images.has(key)) continue;
    const providers = service.build ? args.nodeProviders : [args.nodeProviders[0]];
    images.set(
      key,
      providers.map((provider, i) =>
        serviceImage(
          i === 0 ? key : `${key}-node-${i + 1}`,
          service,
          args.stackfileDir,
          resolve,
          { parent, provider },
          args.nodeIds[i],
        ),
      ),
    );
  }
  return images;
}

/** Each service's Swarm service name, mode and published ports (SwarmStack.services). */
function serviceSummaries(
  spec: StackSpec,
  prefix: string,
): Record<string, { service: string; mode: string; endpoints: string[] }> {
  return Object.fromEntries(
    spec.services.map((svc) => {
      const plan = swarmService(svc, spec.services);
      return [
        svc.name,
        {
          service: swarmName(prefix, svc.name),
          mode: plan.mode === "global" ? "global" : `${plan.mode.replicas} replicas`,
          endpoints: svc.ports.map((p) => `${p.host ?? "*"}:${p.container}/${p.protocol}`),
        },
      ];
    }),
  );
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
): pulumi.Output<string[]> {
  return declared.apply((targets) => {
    const pin = `node.labels.${DATA_NODE_LABEL} == true`;
    if (targets.length === 0 || plan.constraints.includes(pin)) return plan.constraints;
    pulumi.log.warn(
      `service "${service.name}" keeps the volumes its image declares (${targets.join(", ")}) ` +
        "on the first node's data volume, so Swarm runs it on that node only: it does not move if that node fails",
    );
    return [pin, ...plan.constraints];
  });
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
function serviceTaskSpec(
  service: ServiceSpec,
  plan: SwarmService,
  context: ServiceContext,
): docker.types.input.ServiceTaskSpec {
  return {
    containerSpec: serviceContainerSpec(service, context),
    networksAdvanceds: [{ id: context.network.id, aliases: plan.aliases }],
    placement: { constraints: serviceConstraints(service, plan, context.declared) },
    restartPolicy: { condition: plan.restartCondition, ...RESTART_TIMING },
    resources:
      service.memLimit === undefined ? undefined : { limits: { memoryBytes: service.memLimit } },
  };
}

/** A service's published ports: always given, so a port the Stackfile no longer publishes is unpublished. */
function serviceEndpointSpec(service: ServiceSpec): docker.types.input.ServiceEndpointSpec {
  return {
    ports: service.ports.map((p) => ({
      targetPort: p.container,
      publishedPort: p.host,
      protocol: p.protocol,
      publishMode: "ingress",
    })),
  };
}

/**
 * The services of one Stackfile as Docker Swarm services on the cluster, on one overlay network.
 * Swarm places the tasks: swarmService() says only what it must respect. There is no registry,
 * so a built image is built on every node; a pulled one is pulled by each node Swarm picks (and
 * first on the first node, where its exposed ports are read).
 */
export class SwarmStack extends pulumi.ComponentResource {
  /** The secrets generated for unset variables, by variable name. */
  public readonly generatedSecrets: Record<string, pulumi.Output<string>>;
  /** The Swarm services by Stackfile service name. */
  public readonly swarmServices: Record<string, docker.Service> = {};
  /**
   * The overlay network's ID: what a Swarm service names it by, since the Docker provider reads
   * a service's networks back as IDs (given by name, it would be replaced on every up).
   */
  public readonly networkId: pulumi.Output<string>;
  /** Each service's Swarm service name, mode and published ports. */
  public readonly services: pulumi.Output<
    Record<string, { service: string; mode: string; endpoints: string[] }>
  >;

  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dropstack:index:SwarmStack", name, {}, opts);
    const { spec } = args;
    const secrets = stackSecrets(name, spec, args.secretVars ?? {}, this);
    this.generatedSecrets = secrets.generated;

    const network = new docker.Network(
      `${name}-network`,
      // Attachable, so `docker run --network` can reach the services to debug them.
      { name: args.prefix, driver: "overlay", attachable: true },
      { parent: this, provider: args.manager, ...onNode(args.nodeIds[0]) },
    );
    this.networkId = network.id;

    const images = stackImages(name, args, secrets.resolve, this);
    const firstImage = (service: ServiceSpec) => images.get(imageResourceName(name, service))![0];
    const imagePorts = linkedImagePorts(name, spec.services, firstImage, args.dockerAccess, this);

    // What images declare as volumes, on the data volume as on one node (see image-volumes.ts):
    // their folders are made on the data node, where the services that have them are pinned.
    const declaredVolumes = imageVolumes(name, spec.services, firstImage, args.dockerAccess, this);
    const declaredFolders = this.declaredFolders(name, args, declaredVolumes);

    // Linked services first, so each starts after the services it needs.
    for (const service of startOrder(spec.services)) {
      this.swarmServices[service.name] = this.service(name, service, {
        args,
        network,
        images: images.get(imageResourceName(name, service))!,
        imagePorts,
        resolve: secrets.resolve,
        declared: declaredVolumes.apply((byService) => byService[service.name]),
        declaredFolders,
      });
    }

    this.services = pulumi.output(serviceSummaries(spec, args.prefix));
    this.registerOutputs({ services: this.services });
  }

  /** The step that makes, on the data node, the folders of the volumes images declare. */
  private declaredFolders(
    name: string,
    args: SwarmStackArgs,
    declaredVolumes: pulumi.Output<Record<string, string[]>>,
  ): pulumi.Resource {
    return makeFolders(
      `${name}-volume-dirs`,
      declaredVolumes.apply((byService) =>
        Object.entries(byService).flatMap(([svc, targets]) =>
          targets.map((target) => anonymousSource(args.dataPath, svc, target)),
        ),
      ),
      args.dockerAccess,
      args.nodeIds[0],
      { parent: this },
    );
  }

  private service(name: string, service: ServiceSpec, context: ServiceContext): docker.Service {
    const { args, images } = context;
    const plan = swarmService(service, args.spec.services);
    return new docker.Service(
      `${name}-${service.name}`,
      {
        name: swarmName(args.prefix, service.name),
        taskSpec: serviceTaskSpec(service, plan, context),
        mode: plan.mode === "global" ? { global: true } : { replicated: plan.mode },
        updateConfig: { parallelism: plan.updateParallelism, order: "stop-first" },
        endpointSpec: serviceEndpointSpec(service),
      },
      {
        parent: this,
        provider: args.manager,
        ...SERVICE_REPLACEMENT,
        ...onNode(args.nodeIds[0]),
        // Its image on every node that may run it, and the services it links to, first.
        dependsOn: [
          ...(args.after ?? []),
          context.declaredFolders,
          ...images,
          ...service.links
            .map((l) => l.service)
            .filter((s) => this.swarmServices[s] !== undefined)
            .map((s) => this.swarmServices[s]),
        ],
      },
    );
  }
}
