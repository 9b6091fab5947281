import dockerignore from "@balena/dockerignore";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  aliasesOf,
  dependencies,
  linkTargets,
  parseExposedPorts,
  parseImageVolumes,
  startOrder,
  unplacedImageVolumes,
} from "../stackfile";
import type { ExposedPort, ServiceSpec, StackSpec } from "../stackfile";
import { onNode } from "./on-node";
import { stackSecrets } from "./secrets";
import { Service } from "./service";

export interface StackArgs {
  /** The parsed Stackfile, its builds checked by `checkBuilds` (contexts exist). */
  spec: StackSpec;
  /** The Stackfile's folder: `build` contexts are relative to it. */
  stackfileDir: string;
  /** The Docker provider for the node (or this machine). */
  provider: docker.Provider;
  /** Values of the secret variables the Stackfile uses (from stackVars set with --secret). */
  secretVars?: Record<string, pulumi.Input<string>>;
  /** Prefix of container, network and volume names. */
  prefix: string;
  /** Where on the Docker host service data goes; undefined: named Docker volumes. */
  dataPath?: string;
  /** Keep named Docker volumes on destroy (only without dataPath). @default false */
  retainData?: boolean;
  /**
   * How `scripts/image-inspect.sh` reaches the Docker host to read what images declare:
   * DROPSTACK_HOST and DROPSTACK_SSH_OPTS for a node; {} for this machine's Docker.
   */
  dockerAccess: Record<string, pulumi.Input<string>>;
  /** The droplet's ID on a node (see onNode); undefined for this machine's Docker. */
  nodeId?: pulumi.Input<string>;
}

// Relative to the project folder, where Pulumi runs commands (see READY_SCRIPT in node.ts).
const IMAGE_INSPECT_SCRIPT = path.relative(
  process.cwd(),
  path.join(__dirname, "..", "scripts", "image-inspect.sh"),
);

const PRUNE_BUILDS_SCRIPT = path.relative(
  process.cwd(),
  path.join(__dirname, "..", "scripts", "prune-builds.sh"),
);

/** The services of one Stackfile, on one network, with their images and secrets. */
export class Stack extends pulumi.ComponentResource {
  /** Each service's container names and published endpoints. */
  public readonly services: pulumi.Output<
    Record<string, { containers: string[]; endpoints: string[] }>
  >;
  /** The secrets generated for unset variables (…PASSWORD and the like), by variable name. */
  public readonly generatedSecrets: Record<string, pulumi.Output<string>> = {};
  /** The Service components by service name. */
  public readonly serviceComponents: Record<string, Service> = {};
  /** The stack's network: every service answers on it by its name. */
  public readonly networkName: pulumi.Output<string>;
  /** Aliases of what the stack shares with its cluster shape (sameAcrossShapes). */
  private readonly otherShape: pulumi.Alias[];

  constructor(name: string, args: StackArgs, opts?: pulumi.ComponentResourceOptions) {
    super(STACK_TYPE, name, {}, { ...opts, providers: [args.provider] });
    const parent = { parent: this };
    const { spec } = args;

    // The passwords and the images are the cluster's, should the stack have been one.
    this.otherShape = sameAcrossShapes(name, SWARM_STACK_TYPE);
    const secrets = stackSecrets(name, spec, args.secretVars ?? {}, this, this.otherShape);
    Object.assign(this.generatedSecrets, secrets.generated);
    const resolve = secrets.resolve;

    const network = new docker.Network(
      `${name}-network`,
      { name: args.prefix },
      { ...parent, ...onNode(args.nodeId) },
    );
    this.networkName = network.name;

    const images = this.images(name, args, resolve);
    const imageOf = (service: ServiceSpec) => images.get(imageKey(service))!;
    const imagePorts = linkedImagePorts(name, spec.services, imageOf, args.dockerAccess, this);

    // On a node, what images declare as volumes stays on the data volume (see image-volumes.ts);
    // here, in Docker's anonymous volumes, which replacing a container leaves in place.
    const declaredVolumes =
      args.dataPath === undefined
        ? undefined
        : imageVolumes(name, spec.services, imageOf, args.dockerAccess, this);

    this.createServices(name, args, {
      networkName: network.name,
      imageOf,
      imagePorts,
      declaredVolumes,
      resolve,
    });
    if (args.nodeId !== undefined) {
      for (const service of spec.services.filter((s) => s.build)) {
        const containers = this.serviceComponents[service.name].containers;
        pruneBuilds(
          imageResourceName(name, service),
          imageReference(service, args.stackfileDir),
          args.dockerAccess,
          containers,
          // The first node's, should the stack have been a cluster (as the image).
          { parent: this, aliases: this.otherShape },
        );
      }
    }
    this.services = serviceOutputs(this.serviceComponents);
    this.registerOutputs({ services: this.services });
  }

  /** One image resource per distinct image: no dependencies between them, so they pull in parallel. */
  private images(
    name: string,
    args: StackArgs,
    resolve: (text: string) => pulumi.Input<string>,
  ): Map<string, docker.RemoteImage> {
    const images = new Map<string, docker.RemoteImage>();
    for (const service of args.spec.services) {
      if (!images.has(imageKey(service)))
        images.set(
          imageKey(service),
          serviceImage(
            imageResourceName(name, service),
            service,
            args.stackfileDir,
            resolve,
            { parent: this, aliases: this.otherShape },
            args.nodeId,
          ),
        );
    }
    return images;
  }

  /** The Service components, into serviceComponents. */
  private createServices(name: string, args: StackArgs, shared: SharedServiceInputs): void {
    const { spec } = args;
    // Dependencies first, so each service can start after the containers it needs.
    for (const service of startOrder(spec.services)) {
      const after = dependencies(service).flatMap((dep) => this.serviceComponents[dep].containers);
      this.serviceComponents[service.name] = new Service(
        `${name}-${service.name}`,
        {
          spec: service,
          services: spec.services,
          imageId: shared.imageOf(service).imageId,
          networkName: shared.networkName,
          linkAliases: aliasesOf(service, spec.services),
          imagePorts: shared.imagePorts,
          imageVolumes: shared.declaredVolumes?.apply((v) => v[service.name]),
          prefix: args.prefix,
          dataPath: args.dataPath,
          retainData: args.retainData,
          resolve: shared.resolve,
          after,
          nodeId: args.nodeId,
        },
        { parent: this },
      );
    }
  }
}

/** What every service of a stack is given besides its own spec. */
interface SharedServiceInputs {
  networkName: pulumi.Output<string>;
  imageOf: (service: ServiceSpec) => docker.RemoteImage;
  imagePorts: pulumi.Output<Record<string, ExposedPort[]>>;
  declaredVolumes?: pulumi.Output<Record<string, string[]>>;
  resolve: (text: string) => pulumi.Input<string>;
}

/** Each service's container names and published endpoints, by service name. */
function serviceOutputs(
  components: Record<string, Service>,
): pulumi.Output<Record<string, { containers: string[]; endpoints: string[] }>> {
  return pulumi.output(
    Object.fromEntries(
      Object.entries(components).map(([svc, c]) => [
        svc,
        pulumi
          .all([c.containerNames, c.endpoints])
          .apply(([containers, endpoints]) => ({ containers, endpoints })),
      ]),
    ),
  );
}

/**
 * The image of `service` on one Docker host: pulled, or built there from the local context and
 * sent through the Docker API (over SSH for a node): no registry. `name` is the resource's.
 * `nodeId`: the host is a node (see onNode). A replaced build is removed: here by the provider,
 * on a node by pruneBuilds.
 */
export function serviceImage(
  name: string,
  service: ServiceSpec,
  stackfileDir: string,
  resolve: (text: string) => pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
  nodeId?: pulumi.Input<string>,
): docker.RemoteImage {
  opts = { ...opts, ...onNode(nodeId) };
  // Multi-GB images (the Jupyter stacks are 2-5 GB) take minutes to pull or build.
  const timeouts = { customTimeouts: { create: "45m", update: "45m" } };
  if (!service.build) {
    return new docker.RemoteImage(
      name,
      // Kept on delete: another stack or a rollback may still run it.
      { name: service.image!, keepLocally: true },
      { ...opts, ...timeouts },
    );
  }
  // Built on the Docker host from the local context, sent through the Docker API (over SSH for a
  // node): no registry. Tagged by the context's content, so an edit rebuilds the image and
  // replaces the containers, and nothing else does.
  const { absolute, hash, tag } = builtImage(service, stackfileDir);
  // Relative to the project folder, so the input reads the same on every machine.
  const context = path.relative(process.cwd(), absolute) || ".";
  return new docker.RemoteImage(
    name,
    {
      name: tag,
      // Here, a replaced build, and every build on destroy, is removed from this machine's
      // Docker: each is gigabytes (the notebook image), and its tag is this stack's own (by
      // content), so nothing else runs it. Its tag goes even where a stopped container still
      // names it; Docker keeps the layers until no container uses it.
      // On a node the provider removes nothing: it removes by name, and once the droplet is
      // replaced it reaches the new droplet, where that name is the new build's (the emulated
      // cluster's `up --replace`, then its destroy, found it). pruneBuilds removes the earlier
      // builds there instead; a destroyed droplet takes its builds with it.
      ...(nodeId === undefined ? { keepLocally: false, forceRemove: true } : { keepLocally: true }),
      build: {
        context,
        // The classic builder, through the provider's own connection to the node: since the
        // provider's 4.5 its BuildKit path builds on the Docker that DOCKER_HOST or the local
        // socket names, not the provider's host (terraform-provider-docker#972), so a node's
        // image would be built on this machine, then looked for on the node and not found.
        useLegacyBuilder: true,
        // Which that builder reads relative to the folder Pulumi runs in, not to the context.
        dockerfile: path.join(context, service.build.dockerfile ?? "Dockerfile"),
        buildArgs: Object.fromEntries(
          Object.entries(service.build.args).map(([k, v]) => [k, resolve(v)]),
        ),
        tags: [tag],
      },
      triggers: { context: hash },
    },
    { ...opts, ...timeouts },
  );
}

/**
 * On a node, the step that removes a build's earlier versions (the tags of `tag`'s repository
 * that are content hashes, but `tag`) once `after` (what runs the build: a service's containers
 * or Swarm service) run it: scripts/prune-builds.sh over `access` (the node's SSH environment),
 * named for the image resource `image`. It runs again with each new build only. Without it each
 * edit of a build context would leave its old build on the node: gigabytes for the notebook.
 */
export function pruneBuilds(
  image: string,
  tag: string,
  access: Record<string, pulumi.Input<string>>,
  after: pulumi.Resource[],
  opts: pulumi.CustomResourceOptions,
): command.local.Command {
  const separator = tag.lastIndexOf(":");
  return new command.local.Command(
    `${image}-prune`,
    {
      create: `sh ${PRUNE_BUILDS_SCRIPT} ${tag.slice(0, separator)} ${tag.slice(separator + 1)}`,
      environment: access,
    },
    { ...opts, dependsOn: after },
  );
}

/** The component types of a single node's stack and of a cluster's. */
export const STACK_TYPE = "dropstack:index:Stack";
export const SWARM_STACK_TYPE = "dropstack:index:SwarmStack";

/**
 * What a stack keeps whatever its shape, a single node's (under Stack, Proxy) or a cluster's
 * (under SwarmStack, SwarmProxy, of the same names), aliases its copy under the other shape, so a
 * stack that grows or shrinks keeps it as it is: the first node's built images (otherwise the old
 * shape's would be deleted once the new one is made, and its delete, forceRemove, would take
 * away the tag the new shape runs), the generated passwords (otherwise new ones, which Mongo's
 * data, made with the old, would refuse) and the internal CA (otherwise a new root to trust).
 */
export function sameAcrossShapes(stack: string, otherType: string): pulumi.Alias[] {
  return [{ parent: pulumi.createUrn(stack, otherType) }];
}

/** The resource name of a service's image: one per pulled image, one per built service. */
export function imageResourceName(stack: string, service: ServiceSpec): string {
  return service.build
    ? `${stack}-image-${service.name}`
    : `${stack}-image-${slug(service.image!)}`;
}

/** The tag a built image gets (by its context's content), or the image a service pulls. */
export function imageReference(service: ServiceSpec, stackfileDir: string): string {
  return service.build ? builtImage(service, stackfileDir).tag : service.image!;
}

/** A built service's context, the hash of what the build sends, and the tag that hash gives. */
function builtImage(service: ServiceSpec, stackfileDir: string) {
  const absolute = path.resolve(stackfileDir, service.build!.context);
  const hash = contextHash(absolute, service.build!.dockerfile);
  const tag =
    `${service.image ?? `dropstack/${service.name}`}`.replace(/:[^/:]+$/, "") +
    `:${hash.slice(0, 12)}`;
  return { absolute, hash, tag };
}

/**
 * The ports each linked service's image exposes, by service name, read on the Docker host by
 * scripts/image-inspect.sh once the image is there: for the link variables of the services that
 * link to it. `dockerAccess` is how the script reaches the host (Node.sshEnvironment, or {}
 * for this machine's Docker).
 */
export function linkedImagePorts(
  name: string,
  services: ServiceSpec[],
  imageOf: (service: ServiceSpec) => docker.RemoteImage,
  dockerAccess: Record<string, pulumi.Input<string>>,
  parent: pulumi.Resource,
): pulumi.Output<Record<string, ExposedPort[]>> {
  return inspectImages(
    name,
    "ports",
    linkTargets(services),
    imageOf,
    dockerAccess,
    parent,
    (_, out) => parseExposedPorts(out),
  );
}

/**
 * The volumes each service's image declares and its Stackfile entry does not place (see
 * unplacedImageVolumes), by service name, read on the node by scripts/image-inspect.sh once the
 * image is there: the service keeps them on the data volume.
 */
export function imageVolumes(
  name: string,
  services: ServiceSpec[],
  imageOf: (service: ServiceSpec) => docker.RemoteImage,
  dockerAccess: Record<string, pulumi.Input<string>>,
  parent: pulumi.Resource,
): pulumi.Output<Record<string, string[]>> {
  return inspectImages(name, "volumes", services, imageOf, dockerAccess, parent, (service, out) =>
    unplacedImageVolumes(service, parseImageVolumes(out)),
  );
}

/**
 * What scripts/image-inspect.sh prints about each of `services`' images (`what`), on the Docker
 * host once the image is there, as `read` makes of it, by service name: one command each,
 * `<name>-<what>-<service>`, run again when the image changes.
 */
function inspectImages<T>(
  name: string,
  what: "ports" | "volumes",
  services: ServiceSpec[],
  imageOf: (service: ServiceSpec) => docker.RemoteImage,
  dockerAccess: Record<string, pulumi.Input<string>>,
  parent: pulumi.Resource,
  read: (service: ServiceSpec, out: string) => T,
): pulumi.Output<Record<string, T>> {
  return pulumi
    .all(
      services.map((service) => {
        const image = imageOf(service);
        return new command.local.Command(
          `${name}-${what}-${service.name}`,
          {
            create: pulumi.interpolate`sh ${IMAGE_INSPECT_SCRIPT} ${what} ${image.imageId}`,
            environment: dockerAccess,
            triggers: [image.imageId],
          },
          { parent, dependsOn: [image] },
        ).stdout.apply((out) => [service.name, read(service, out)] as const);
      }),
    )
    .apply((entries) => Object.fromEntries(entries) as Record<string, T>);
}

/** Services with the same image share one pull; each built image is its own. */
function imageKey(service: ServiceSpec): string {
  return service.build ? `build:${service.name}` : service.image!;
}

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * A hash of the path and content of every file the build sends to Docker: all files under `dir`
 * except those `.dockerignore` leaves out (with Docker's own matching rules), in a stable order.
 * An ignored folder is not even read unless an exception (`!pattern`) could reach into it, so a
 * context beside large ignored data costs nothing on each `pulumi` command.
 * @param dockerfile the Dockerfile's path relative to `dir`: Docker sends it even when ignored.
 */
export function contextHash(dir: string, dockerfile = "Dockerfile"): string {
  const ignoreFile = path.join(dir, ".dockerignore");
  const rules = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8") : "";
  const ignored = dockerignore().add(rules);
  const hasExceptions = rules.split(/\r?\n/).some((line) => line.trim().startsWith("!"));
  const alwaysSent = new Set([".dockerignore", path.posix.normalize(dockerfile)]);
  const hash = crypto.createHash("sha256");
  const walk = (current: string) => {
    for (const entry of fs
      .readdirSync(current, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(current, entry.name);
      const relative = path.relative(dir, full).split(path.sep).join("/");
      const skip = !alwaysSent.has(relative) && ignored.ignores(relative);
      if (entry.isDirectory()) {
        const holdsSent = [...alwaysSent].some((sent) => sent.startsWith(`${relative}/`));
        if (!skip || hasExceptions || holdsSent) walk(full);
      } else if (entry.isFile() && !skip) {
        hash.update(relative).update("\0").update(fs.readFileSync(full)).update("\0");
      }
    }
  };
  walk(dir);
  return hash.digest("hex");
}
