import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { startOrder, swarmService, type ServiceSpec, type StackSpec } from "../stackfile";
import { swarmName } from "../config/naming";
import { anonymousSource } from "./data-paths";
import { onNode } from "./on-node";
import { stackSecrets } from "./secrets";
import {
  imageReference,
  imageResourceName,
  imageVolumes,
  linkedImagePorts,
  pruneBuilds,
  sameAcrossShapes,
  serviceImage,
  STACK_TYPE,
  SWARM_STACK_TYPE,
} from "./stack";
import { makeFolders, onSwarm, stopBeforeDelete } from "./swarm";
import type { SwarmHome } from "./swarm";
import {
  SERVICE_REPLACEMENT,
  serviceEndpointSpec,
  serviceTaskSpec,
  type ServiceContext,
} from "./swarm-service";

export interface SwarmStackArgs {
  /** The parsed Stackfile, parsed for a cluster (swarmProblems already reported). */
  spec: StackSpec;
  /** The Stackfile's folder: `build` contexts are relative to it. */
  stackfileDir: string;
  /** The Docker provider of the first node, a manager: services are made through it. */
  manager: docker.Provider;
  /** Where the swarm's objects live (see onSwarm). */
  swarm: SwarmHome;
  /** The Docker provider of every node, the first included: built images are built on each. */
  nodeProviders: docker.Provider[];
  /**
   * Each node's droplet ID, in the order of nodeProviders (see onNode): an image is replaced
   * with its node's droplet, the network and the services with the first node's, where the
   * swarm is formed.
   */
  nodeIds: pulumi.Input<string>[];
  /** The first node's tags (Swarm labels): where services with data run. */
  dataNodeTags: string[];
  /** Values of the secret variables the Stackfile uses (from stackVars set with --secret). */
  secretVars?: Record<string, pulumi.Input<string>>;
  /** Prefix of service, network and config names. */
  prefix: string;
  /** Where on the data node service data goes (`<dataPath>/<service>/…`). */
  dataPath: string;
  /**
   * How scripts reach each node (DROPSTACK_HOST, DROPSTACK_SSH_OPTS), in the order of
   * nodeProviders: image-inspect.sh the first, prune-builds.sh each.
   */
  nodeAccess: Record<string, pulumi.Input<string>>[];
  /** What must be done before any service is made: the folders they bind-mount. */
  after?: pulumi.Resource[];
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
          nodeImageName(key, i),
          service,
          args.stackfileDir,
          resolve,
          // The first node's: the single node's image, should the stack have been one.
          {
            parent,
            provider,
            ...(i === 0 ? { aliases: sameAcrossShapes(name, STACK_TYPE) } : {}),
          },
          args.nodeIds[i],
        ),
      ),
    );
  }
  return images;
}

/** The resource name of node `index`'s copy (from 0) of the image resource `key`. */
function nodeImageName(key: string, index: number): string {
  return index === 0 ? key : `${key}-node-${index + 1}`;
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
    super(SWARM_STACK_TYPE, name, {}, opts);
    const { spec } = args;
    const secrets = stackSecrets(
      name,
      spec,
      args.secretVars ?? {},
      this,
      sameAcrossShapes(name, STACK_TYPE),
    );
    this.generatedSecrets = secrets.generated;

    const network = new docker.Network(
      `${name}-network`,
      // Attachable, so `docker run --network` can reach the services to debug them.
      { name: args.prefix, driver: "overlay", attachable: true },
      { parent: this, provider: args.manager, ...onSwarm(args.swarm), ...onNode(args.nodeIds[0]) },
    );
    this.networkId = network.id;

    const images = stackImages(name, args, secrets.resolve, this);
    const firstImage = (service: ServiceSpec) => images.get(imageResourceName(name, service))![0];
    const imagePorts = linkedImagePorts(name, spec.services, firstImage, args.nodeAccess[0], this);

    // What images declare as volumes, on the data volume as on one node (see image-volumes.ts):
    // their folders are made on the data node, where the services that have them are pinned.
    const declaredVolumes = imageVolumes(name, spec.services, firstImage, args.nodeAccess[0], this);
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
      // Its tasks shut down before the provider deletes it (see stopBeforeDelete).
      const deployed = this.swarmServices[service.name];
      stopBeforeDelete(`${name}-${service.name}`, deployed, args.nodeAccess[0], args.swarm, this);
    }

    // Each node's earlier builds, once the service runs the new one.
    for (const service of spec.services.filter((s) => s.build)) {
      const key = imageResourceName(name, service);
      args.nodeAccess.forEach((access, i) =>
        pruneBuilds(
          nodeImageName(key, i),
          imageReference(service, args.stackfileDir),
          access,
          [this.swarmServices[service.name]],
          // The first node's: the single node's, should the stack have been one (as the image).
          { parent: this, ...(i === 0 ? { aliases: sameAcrossShapes(name, STACK_TYPE) } : {}) },
        ),
      );
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
      args.nodeAccess[0],
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
        endpointSpec: serviceEndpointSpec(service, plan),
      },
      {
        parent: this,
        provider: args.manager,
        ...onSwarm(args.swarm, true),
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
