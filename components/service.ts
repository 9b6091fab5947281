import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { linkEnvironment } from "../stackfile";
import * as crypto from "crypto";
import { anonymousSource, dataSource } from "./data-paths";
import { onNode } from "./on-node";
import type { ExposedPort, HealthcheckSpec, ServiceSpec, VolumeSpec } from "../stackfile";

/**
 * A label naming the Stackfile's healthcheck by its hash. The provider cannot update a
 * container's healthcheck, and keeps the old one without a word; labels force a new container
 * and are never read back, so a changed healthcheck replaces the container, while what Docker
 * fills in from the image's own HEALTHCHECK (which the provider reads back) replaces nothing.
 */
export function healthcheckLabel(healthcheck: HealthcheckSpec): { label: string; value: string } {
  const hash = crypto.createHash("sha256").update(JSON.stringify(healthcheck)).digest("hex");
  return { label: "dropstack.healthcheck", value: hash.slice(0, 12) };
}

export interface ServiceArgs {
  /** The service, from the Stackfile. */
  spec: ServiceSpec;
  /** Every service of the stack: link variables read the linked ones. */
  services: ServiceSpec[];
  /** The image to run, by id, so containers are replaced exactly when the image changes. */
  imageId: pulumi.Input<string>;
  /** The stack's network. */
  networkName: pulumi.Input<string>;
  /** Aliases other services link to this one by (besides its own name). */
  linkAliases: string[];
  /** The ports the linked services' images expose, by service name, for link variables. */
  imagePorts: pulumi.Input<Record<string, ExposedPort[]>>;
  /** Prefix of container and volume names, unique per stack on the Docker host. */
  prefix: string;
  /**
   * Folder on the Docker host under which relative and anonymous volumes go
   * (`<dataPath>/<service>/…`). When undefined, named Docker volumes are used instead.
   */
  dataPath?: string;
  /** Keep named Docker volumes on `pulumi destroy` (when there is no dataPath). @default false */
  retainData?: boolean;
  /** Replaces the secret placeholders in a spec string by the secret's value. */
  resolve: (text: string) => pulumi.Input<string>;
  /**
   * The volumes the image declares that the Stackfile does not place, on a node: they go on the
   * data volume with the Stackfile's own anonymous volumes.
   */
  imageVolumes?: pulumi.Input<string[]>;
  /** Containers of the services this one links to or takes volumes from, to start after. */
  after: pulumi.Resource[];
  /** The droplet's ID on a node: the containers are replaced with it (see onNode). */
  nodeId?: pulumi.Input<string>;
}

/** One Stackfile service: its containers `svc-1..svc-N`, all answering to `svc` on the network. */
export class Service extends pulumi.ComponentResource {
  /** The containers' names. */
  public readonly containerNames: pulumi.Output<string[]>;
  /** Published endpoints, `host:port/protocol`, with the host side as the Docker host sees it. */
  public readonly endpoints: pulumi.Output<string[]>;
  /** The containers, for others to start after. */
  public readonly containers: docker.Container[] = [];

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dropstack:index:Service", name, {}, opts);
    const { spec } = args;
    const envs = containerEnvs(args);
    const volumes = this.containerVolumes(name, args);

    for (let n = 1; n <= spec.replicas; n++) {
      this.containers.push(this.container(name, n, args, envs, volumes));
    }

    this.containerNames = pulumi.all(this.containers.map((c) => c.name));
    this.endpoints = pulumi.output(
      spec.ports.map((p) => `${p.host ?? "*"}:${p.container}/${p.protocol}`),
    );
    this.registerOutputs({ containerNames: this.containerNames, endpoints: this.endpoints });
  }

  /**
   * Every container's volumes: the Stackfile's (creating the named Docker volumes among them),
   * the image's declared ones on a node, and those taken from other services' containers.
   */
  private containerVolumes(
    name: string,
    args: ServiceArgs,
  ): pulumi.Output<docker.types.input.ContainerVolume[]> {
    const { spec } = args;
    const placed = spec.volumes.map((v) => this.volume(name, v, args));
    return pulumi.output(args.imageVolumes ?? []).apply((declared) => [
      ...placed,
      // Where the Stackfile's own anonymous volumes go (imageVolumes is given only on a node).
      ...declared.map((target) => ({
        hostPath: anonymousSource(args.dataPath!, spec.name, target),
        containerPath: target,
      })),
      // Docker's own `name:ro`: the provider ignores readOnly for fromContainer.
      ...spec.volumesFrom.map((from) => ({
        fromContainer: `${args.prefix}-${from.service}-1${from.readOnly ? ":ro" : ""}`,
      })),
    ]);
  }

  /** Container `n` of the service, `<name>-<n>`, after the previous one when sequential. */
  private container(
    name: string,
    n: number,
    args: ServiceArgs,
    envs: pulumi.Input<string[]>,
    volumes: pulumi.Input<docker.types.input.ContainerVolume[]>,
  ): docker.Container {
    const { spec } = args;
    const previous = this.containers[this.containers.length - 1];
    return new docker.Container(
      `${name}-${n}`,
      {
        name: `${args.prefix}-${spec.name}-${n}`,
        image: args.imageId,
        envs,
        command: spec.command?.map(args.resolve),
        entrypoints: spec.entrypoint?.map(args.resolve),
        ...networkInputs(args, n),
        volumes,
        restart: spec.restart,
        healthcheck: healthcheckInput(args),
        ...hostInputs(args),
        ...resourceInputs(spec),
        ...lifecycleInputs(spec),
      },
      {
        parent: this,
        dependsOn: [...args.after, ...(spec.sequential && previous ? [previous] : [])],
        // A container must go before its replacement takes its name.
        deleteBeforeReplace: true,
        ...onNode(args.nodeId),
      },
    );
  }

  private volume(
    name: string,
    v: VolumeSpec,
    args: ServiceArgs,
  ): docker.types.input.ContainerVolume {
    if (v.source !== undefined && !v.onDataVolume) {
      return { hostPath: v.source, containerPath: v.target, readOnly: v.readOnly };
    }
    // Relative, named and anonymous volumes hold the service's data: keep them off the
    // container's lifetime, on the node's data volume (or a named Docker volume locally).
    const relative = v.source ?? `_anonymous${v.target}`;
    if (args.dataPath !== undefined) {
      return {
        hostPath: dataSource(args.dataPath, args.spec.name, relative),
        containerPath: v.target,
        readOnly: v.readOnly,
      };
    }
    const slug = relative.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^_+/, "");
    const volume = new docker.Volume(
      `${name}-${slug}`,
      { name: `${args.prefix}-${args.spec.name}-${slug}` },
      { parent: this, retainOnDelete: args.retainData ?? false },
    );
    return { volumeName: volume.name, containerPath: v.target, readOnly: v.readOnly };
  }
}

/** Leaves empty lists out of the inputs, as the provider leaves them out of its state. */
function orUndefined<T>(items: T[]): T[] | undefined {
  return items.length > 0 ? items : undefined;
}

/** The containers' environment, `NAME=value`. */
function containerEnvs(args: ServiceArgs): pulumi.Output<string[]> {
  const { spec } = args;
  // The Stackfile's environment wins over link variables of the same name, as in Docker Cloud.
  return pulumi.output(args.imagePorts).apply((imagePorts) =>
    pulumi.all(
      Object.entries({
        ...linkEnvironment(spec, args.services, imagePorts),
        ...spec.environment,
      }).map(([k, v]) => pulumi.output(args.resolve(v)).apply((value) => `${k}=${value}`)),
    ),
  );
}

/** Container `n`'s network: host networking, or the stack's network with its aliases, and ports. */
function networkInputs(args: ServiceArgs, n: number) {
  const { spec } = args;
  const aliases = [
    ...new Set([
      spec.name,
      `${spec.name}-${n}`,
      ...args.linkAliases.flatMap((a) => [a, `${a}-${n}`]),
    ]),
  ];
  return {
    networkMode: spec.networkMode === "host" ? "host" : undefined,
    networksAdvanced:
      spec.networkMode === "host"
        ? undefined
        : [{ name: args.networkName, aliases, macAddress: spec.macAddress }],
    // None with net: host, where the service answers on the node's own ports: Docker drops
    // them, the provider reads back none, and as they force a new container, every up
    // would replace it.
    ports:
      spec.networkMode === "host"
        ? undefined
        : spec.ports.map((p) => ({
            internal: p.container,
            external: p.host,
            protocol: p.protocol,
          })),
  };
}

/** The Stackfile's healthcheck, as the provider takes it. */
function healthcheckInput(args: ServiceArgs) {
  const { spec } = args;
  return (
    spec.healthcheck && {
      tests: spec.healthcheck.test.map(args.resolve),
      interval: spec.healthcheck.interval,
      timeout: spec.healthcheck.timeout,
      startPeriod: spec.healthcheck.startPeriod,
      retries: spec.healthcheck.retries,
    }
  );
}

/** Privileges, devices, DNS, hosts, labels and the other settings of the container's host. */
function hostInputs(args: ServiceArgs) {
  const { spec } = args;
  return {
    privileged: spec.privileged,
    capabilities:
      spec.capAdd.length + spec.capDrop.length > 0
        ? { adds: spec.capAdd, drops: spec.capDrop }
        : undefined,
    devices: orUndefined(
      spec.devices.map((d) => ({
        hostPath: d.host,
        containerPath: d.container,
        permissions: d.permissions,
      })),
    ),
    pidMode: spec.pidMode,
    dns: orUndefined(spec.dns),
    dnsSearches: orUndefined(spec.dnsSearch),
    hosts: orUndefined(spec.extraHosts.map((h) => ({ host: h.host, ip: h.ip }))),
    labels: orUndefined([
      ...Object.entries(spec.labels).map(([label, value]) => ({
        label,
        value: args.resolve(value),
      })),
      ...(spec.healthcheck ? [healthcheckLabel(spec.healthcheck)] : []),
    ]),
    securityOpts: orUndefined(spec.securityOpt),
    cgroupParent: spec.cgroupParent,
    workingDir: spec.workingDir,
    user: spec.user,
    hostname: spec.hostname,
    domainname: spec.domainname,
  };
}

/** CPU and memory limits, and the container's file system and terminal. */
function resourceInputs(spec: ServiceSpec) {
  return {
    cpuShares: spec.cpuShares,
    cpuSet: spec.cpuset,
    // The provider takes megabytes.
    memory: spec.memLimit === undefined ? undefined : Math.ceil(spec.memLimit / 1024 ** 2),
    // Said whenever memory is: Docker sets twice the memory when it is not given, and the
    // provider, reading that back, would show a change on every up (and could not raise
    // the memory past it later).
    memorySwap:
      spec.memswapLimit !== undefined
        ? spec.memswapLimit < 0
          ? -1
          : Math.ceil(spec.memswapLimit / 1024 ** 2)
        : spec.memLimit === undefined
          ? undefined
          : 2 * Math.ceil(spec.memLimit / 1024 ** 2),
    readOnly: spec.readOnly,
    stdinOpen: spec.stdinOpen,
    tty: spec.tty,
  };
}

/** How Pulumi keeps, stops and replaces the container. */
function lifecycleInputs(spec: ServiceSpec) {
  return {
    // Pulumi keeps a container running only where its policy does: a container that may
    // stop for good (restart: no, or on-failure once it succeeded) would otherwise be
    // started again on every up.
    mustRun: spec.restart === "always" || spec.restart === "unless-stopped",
    // As `docker stop` does: 10 s to shut down cleanly before it is killed (the provider
    // gives none), on every replacement and on destroy.
    destroyGraceSeconds: 10,
    // Volumes the image declares but the Stackfile does not place stay on the node when the
    // container is replaced, instead of going with it.
    removeVolumes: false,
  };
}
