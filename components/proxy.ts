import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as crypto from "crypto";
import { CA_VARIABLE, caId, CADDY_IMAGE, PROXY_PATHS, SITE_VARIABLE } from "../proxy/caddy";
import type { ProxyPlan } from "../proxy/plan";
import { onNode } from "./on-node";
import { sameAcrossShapes } from "./stack";

/** The component types of a single node's proxy and of a cluster's. */
const PROXY_TYPE = "dropstack:index:Proxy";
const SWARM_PROXY_TYPE = "dropstack:index:SwarmProxy";
import { onSwarm, pruneSwarmConfigs } from "./swarm";
import type { SwarmHome } from "./swarm";
import { DATA_NODE_LABEL } from "../stackfile";
import { swarmName } from "../config/naming";
import {
  RESTART_TIMING,
  SERVICE_REPLACEMENT,
  STOP_GRACE_PERIOD,
  type SwarmMount,
} from "./swarm-service";

export interface ProxyArgs {
  /** What to front and how, from `planProxy`. */
  plan: ProxyPlan;
  /** The stack's network, on which the web service answers. */
  networkName: pulumi.Input<string>;
  /** The address the certificate is for: the domain, the node's IP address, or localhost. */
  site: pulumi.Input<string>;
  /** Prefix of container and volume names, unique per stack on the Docker host. */
  prefix: string;
  /**
   * Folder on the Docker host for certificates and the ACME account (the node's data volume), so
   * a replaced droplet does not ask the CA again; undefined: a named Docker volume.
   */
  dataPath?: string;
  /** Keep the named Docker volume on destroy (only without dataPath). @default false */
  retainData?: boolean;
  /** Containers that must be gone or up first: the web service's, which held port 80 before. */
  after: pulumi.Resource[];
  /** The droplet's ID on a node: the proxy is replaced with it (see onNode). */
  nodeId?: pulumi.Input<string>;
}

/** Caddy in front of the web service: ports 80 and 443, certificates on the data volume. */
export class Proxy extends pulumi.ComponentResource {
  /** The proxy's container. */
  public readonly container: docker.Container;
  /** The root certificate of the stack's own CA (`tls: internal`), PEM; otherwise undefined. */
  public readonly caCertificate: pulumi.Output<string> | undefined;

  constructor(name: string, args: ProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROXY_TYPE, name, {}, opts);
    const parent = { parent: this };

    const files = proxyUploads(name, args, this);
    this.caCertificate = files.caCertificate;
    const image = caddyImage(name, args.nodeId, parent);
    const volumes = proxyVolumes(name, args, parent);
    this.container = proxyContainer(name, args, image, files, volumes, parent);

    this.registerOutputs({ caCertificate: this.caCertificate });
  }
}

/** Options that make a resource a child of the proxy. */
type Parent = { parent: pulumi.Resource };

/** The files uploaded into the proxy's container: the Caddyfile and the internal CA's. */
function proxyUploads(name: string, args: ProxyArgs, parent: pulumi.Resource) {
  const { plan } = args;
  const uploads: docker.types.input.ContainerUpload[] = [
    { file: PROXY_PATHS.caddyfile, content: plan.caddyfile },
  ];
  let caCertificate: pulumi.Output<string> | undefined;
  if (plan.certificates === "internal") {
    const ca = internalCa(name, args.prefix, parent, sameAcrossShapes(name, SWARM_PROXY_TYPE));
    caCertificate = ca.certPem;
    uploads.push(
      { file: PROXY_PATHS.caCert, content: ca.certPem },
      // Readable by the container's root only, as a key should be.
      { file: PROXY_PATHS.caKey, content: ca.keyPem, permissions: "0600" },
    );
  }
  return { uploads, caCertificate };
}

/** Caddy's image, pulled onto the node. */
function caddyImage(
  name: string,
  nodeId: pulumi.Input<string> | undefined,
  parent: Parent,
): docker.RemoteImage {
  return new docker.RemoteImage(
    `${name}-image`,
    { name: CADDY_IMAGE, keepLocally: true },
    { ...parent, customTimeouts: { create: "10m", update: "10m" }, ...onNode(nodeId) },
  );
}

/** Caddy's data and config folders: under `dataPath`, or named Docker volumes. */
function proxyVolumes(
  name: string,
  args: ProxyArgs,
  parent: Parent,
): docker.types.input.ContainerVolume[] {
  const volumes: docker.types.input.ContainerVolume[] = [];
  for (const [folder, containerPath] of [
    ["data", PROXY_PATHS.data],
    ["config", PROXY_PATHS.config],
  ] as const) {
    if (args.dataPath !== undefined) {
      volumes.push({ hostPath: `${args.dataPath}/${folder}`, containerPath });
    } else {
      const volume = new docker.Volume(
        `${name}-${folder}`,
        { name: `${args.prefix}-proxy-${folder}` },
        { ...parent, retainOnDelete: args.retainData ?? false },
      );
      volumes.push({ volumeName: volume.name, containerPath });
    }
  }
  return volumes;
}

/** The proxy's container, publishing ports 80 and 443. */
function proxyContainer(
  name: string,
  args: ProxyArgs,
  image: docker.RemoteImage,
  { uploads, caCertificate }: ReturnType<typeof proxyUploads>,
  volumes: docker.types.input.ContainerVolume[],
  parent: Parent,
): docker.Container {
  const ca = caEnvironment(caCertificate);
  return new docker.Container(
    `${name}-container`,
    {
      name: `${args.prefix}-proxy`,
      image: image.imageId,
      envs: [
        pulumi.interpolate`${SITE_VARIABLE}=${args.site}`,
        ...Object.entries(ca).map(([k, v]) => pulumi.interpolate`${k}=${v}`),
        // Where Caddy keeps certificates and its autosaved config: the mounts below. The
        // official image sets the same; said here so nothing depends on that.
        `XDG_DATA_HOME=${PROXY_PATHS.data}`,
        `XDG_CONFIG_HOME=${PROXY_PATHS.config}`,
      ],
      networksAdvanced: [{ name: args.networkName }],
      ports: [
        { internal: 80, external: 80, protocol: "tcp" },
        { internal: 443, external: 443, protocol: "tcp" },
      ],
      uploads,
      volumes,
      restart: "unless-stopped",
      mustRun: true,
      // As `docker stop` does, so Caddy finishes the requests in flight (its grace_period).
      destroyGraceSeconds: 10,
    },
    { ...parent, dependsOn: args.after, deleteBeforeReplace: true, ...onNode(args.nodeId) },
  );
}

/** The `internal` CA's name in Caddy (CA_VARIABLE), where there is one. */
function caEnvironment(
  caCertificate: pulumi.Output<string> | undefined,
): Record<string, pulumi.Output<string>> {
  return caCertificate ? { [CA_VARIABLE]: caCertificate.apply(caId) } : {};
}

/**
 * The stack's own root CA for `tls: internal`. Made by `up` rather than by Caddy, so that `up`
 * can check the site against it and users can trust it (the caCertificate output); the key stays
 * secret in the state.
 */
function internalCa(
  name: string,
  prefix: string,
  parent: pulumi.Resource,
  aliases: pulumi.Alias[],
) {
  const key = new tls.PrivateKey(
    `${name}-ca-key`,
    { algorithm: "ECDSA", ecdsaCurve: "P256" },
    { parent, aliases },
  );
  const root = new tls.SelfSignedCert(
    `${name}-ca`,
    {
      privateKeyPem: key.privateKeyPem,
      isCaCertificate: true,
      subject: { commonName: `dropstack ${prefix} root CA`, organization: "dropstack" },
      validityPeriodHours: 10 * 365 * 24,
      allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    },
    { parent, aliases },
  );
  return { certPem: root.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
}

/**
 * The proxy's bind mounts on a cluster: Caddy's data (certificates, the ACME account) and config
 * folders under `dataPath` on the data node. Their sources must exist before its task starts.
 */
export function swarmProxyMounts(dataPath: string): SwarmMount[] {
  return [
    { type: "bind", source: `${dataPath}/data`, target: PROXY_PATHS.data, readOnly: false },
    { type: "bind", source: `${dataPath}/config`, target: PROXY_PATHS.config, readOnly: false },
  ];
}

export interface SwarmProxyArgs {
  /** What to front and how, from `planProxy`. */
  plan: ProxyPlan;
  /** The ID of the stack's overlay network, on which the web service answers. */
  networkId: pulumi.Input<string>;
  /** The address the certificate is for: the domain, or the first node's IP address. */
  site: pulumi.Input<string>;
  /** Prefix of service, config and secret names. */
  prefix: string;
  /** Folder on the data node for certificates and the ACME account (the data volume). */
  dataPath: string;
  /** The Docker provider of the first node, a manager. */
  manager: docker.Provider;
  /** The first node's droplet ID: the swarm's objects are replaced with it (see onNode). */
  managerId: pulumi.Input<string>;
  /** How scripts reach the first node over its pinned SSH (Node.sshEnvironment). */
  managerAccess: Record<string, pulumi.Input<string>>;
  /** Where the swarm's objects live (see onSwarm). */
  swarm: SwarmHome;
  /** What must exist first: the web service, which held port 80 before the proxy existed. */
  after: pulumi.Resource[];
}

/**
 * Caddy in front of the web service on a cluster: a Swarm service pinned to the data node (its
 * certificates live on the data volume), publishing 80 and 443 on that node itself (Swarm's host
 * mode), where the url and the domain's record point. Not through the routing mesh: every request
 * another node took would cross the overlay to this node anyway, a record for another node would
 * only add a node that can fail, the mesh hides the visitor's address from the proxy, and it needs
 * IPVS in the node's kernel. Its Caddyfile (and the internal CA's files) are Swarm configs and
 * secrets, named by their content: Swarm's are immutable, so a change makes new ones. Pulumi
 * keeps the old ones (`retainOnDelete`), and `swarm.sh prune` removes them once the proxy runs
 * with the new: deleted by Pulumi, after a replaced first node, they would be looked for in the
 * new swarm, not found, and the up would fail (found by the emulated cluster's replacement).
 */
export class SwarmProxy extends pulumi.ComponentResource {
  /** The proxy's Swarm service. */
  public readonly service: docker.Service;
  /** The root certificate of the stack's own CA (`tls: internal`), PEM; otherwise undefined. */
  public readonly caCertificate: pulumi.Output<string> | undefined;

  constructor(name: string, args: SwarmProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super(SWARM_PROXY_TYPE, name, {}, opts);
    const provider = {
      parent: this,
      provider: args.manager,
      ...onSwarm(args.swarm),
      ...onNode(args.managerId),
    };
    const kept = { ...provider, retainOnDelete: true };
    const { plan } = args;

    const caddyfile = caddyfileConfig(name, args.prefix, plan.caddyfile, kept);
    const configs: docker.types.input.ServiceTaskSpecContainerSpecConfig[] = [
      { configId: caddyfile.id, configName: caddyfile.name, fileName: PROXY_PATHS.caddyfile },
    ];
    const secrets: docker.types.input.ServiceTaskSpecContainerSpecSecret[] = [];
    if (plan.certificates === "internal") {
      const ca = internalCa(name, args.prefix, this, sameAcrossShapes(name, PROXY_TYPE));
      this.caCertificate = ca.certPem;
      const files = swarmCaFiles(name, args.prefix, ca, kept);
      configs.push(files.config);
      secrets.push(files.secret);
    }

    this.service = swarmProxyService(name, args, configs, secrets, this.caCertificate, provider);
    pruneSwarmConfigs(
      name,
      [...configs.map((c) => c.configName), ...secrets.map((c) => c.secretName)],
      args.prefix,
      args.managerAccess,
      this.service,
      args.swarm,
      this,
    );
    this.registerOutputs({ caCertificate: this.caCertificate });
  }
}

/** The first 12 hex digits of the SHA-256 of `text`: Swarm configs and secrets are named by it. */
function digest(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** The Caddyfile as a Swarm config, named by its content. */
function caddyfileConfig(
  name: string,
  prefix: string,
  caddyfile: string,
  provider: pulumi.CustomResourceOptions,
): docker.ServiceConfig {
  return new docker.ServiceConfig(
    `${name}-caddyfile`,
    {
      name: swarmName(prefix, `caddyfile-${digest(caddyfile)}`, 64),
      data: Buffer.from(caddyfile).toString("base64"),
    },
    provider,
  );
}

/** The internal CA's certificate as a Swarm config and its key as a Swarm secret. */
function swarmCaFiles(
  name: string,
  prefix: string,
  ca: ReturnType<typeof internalCa>,
  provider: pulumi.CustomResourceOptions,
) {
  const cert = new docker.ServiceConfig(
    `${name}-ca-cert`,
    {
      name: ca.certPem.apply((pem) => swarmName(prefix, `ca-${digest(pem)}`, 64)),
      data: ca.certPem.apply((pem) => Buffer.from(pem).toString("base64")),
    },
    provider,
  );
  const key = new docker.Secret(
    `${name}-ca-key`,
    {
      name: ca.keyPem.apply((pem) => swarmName(prefix, `ca-key-${digest(pem)}`, 64)),
      data: ca.keyPem.apply((pem) => Buffer.from(pem).toString("base64")),
    },
    provider,
  );
  const config: docker.types.input.ServiceTaskSpecContainerSpecConfig = {
    configId: cert.id,
    configName: cert.name,
    fileName: PROXY_PATHS.caCert,
  };
  const secret: docker.types.input.ServiceTaskSpecContainerSpecSecret = {
    secretId: key.id,
    secretName: key.name,
    fileName: PROXY_PATHS.caKey,
  };
  return { config, secret };
}

/** The proxy's Swarm service, on the data node, publishing 80 and 443 there (host mode). */
function swarmProxyService(
  name: string,
  args: SwarmProxyArgs,
  configs: docker.types.input.ServiceTaskSpecContainerSpecConfig[],
  secrets: docker.types.input.ServiceTaskSpecContainerSpecSecret[],
  caCertificate: pulumi.Output<string> | undefined,
  provider: pulumi.CustomResourceOptions,
): docker.Service {
  return new docker.Service(
    `${name}-service`,
    {
      name: swarmName(args.prefix, "proxy"),
      taskSpec: {
        containerSpec: {
          image: CADDY_IMAGE,
          env: {
            [SITE_VARIABLE]: args.site,
            ...caEnvironment(caCertificate),
            XDG_DATA_HOME: PROXY_PATHS.data,
            XDG_CONFIG_HOME: PROXY_PATHS.config,
          },
          configs,
          secrets: secrets.length > 0 ? secrets : undefined,
          mounts: swarmProxyMounts(args.dataPath),
          stopGracePeriod: STOP_GRACE_PERIOD,
        },
        networksAdvanceds: [{ id: args.networkId }],
        placement: { constraints: [`node.labels.${DATA_NODE_LABEL} == true`] },
        restartPolicy: { condition: "any", ...RESTART_TIMING },
      },
      mode: { replicated: { replicas: 1 } },
      // dnsrr: nothing reaches the proxy by name, and host-mode ports need no virtual IP.
      endpointSpec: {
        mode: "dnsrr",
        ports: [
          { targetPort: 80, publishedPort: 80, protocol: "tcp", publishMode: "host" },
          { targetPort: 443, publishedPort: 443, protocol: "tcp", publishMode: "host" },
        ],
      },
    },
    { ...provider, ...onSwarm(args.swarm, true), ...SERVICE_REPLACEMENT, dependsOn: args.after },
  );
}
