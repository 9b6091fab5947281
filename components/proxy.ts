import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CADDY_IMAGE, PROXY_PATHS, SITE_VARIABLE } from "../proxy/caddy";
import type { ProxyPlan } from "../proxy/plan";

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
}

/** Caddy in front of the web service: ports 80 and 443, certificates on the data volume. */
export class Proxy extends pulumi.ComponentResource {
  /** The proxy's container. */
  public readonly container: docker.Container;
  /** The root certificate of the stack's own CA (`tls: internal`), PEM; otherwise undefined. */
  public readonly caCertificate: pulumi.Output<string> | undefined;

  constructor(name: string, args: ProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dropstack:index:Proxy", name, {}, opts);
    const parent = { parent: this };
    const { plan } = args;

    const uploads: docker.types.input.ContainerUpload[] = [
      { file: PROXY_PATHS.caddyfile, content: plan.caddyfile },
    ];
    if (plan.certificates === "internal") {
      // Made here rather than by Caddy so that `up` can check the site against it and users can
      // trust it (the caCertificate output); the key stays secret in the state.
      const key = new tls.PrivateKey(
        `${name}-ca-key`,
        { algorithm: "ECDSA", ecdsaCurve: "P256" },
        parent,
      );
      const root = new tls.SelfSignedCert(
        `${name}-ca`,
        {
          privateKeyPem: key.privateKeyPem,
          isCaCertificate: true,
          subject: { commonName: `dropstack ${args.prefix} root CA`, organization: "dropstack" },
          validityPeriodHours: 10 * 365 * 24,
          allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        },
        parent,
      );
      this.caCertificate = root.certPem;
      uploads.push(
        { file: PROXY_PATHS.caCert, content: root.certPem },
        { file: PROXY_PATHS.caKey, content: pulumi.secret(key.privateKeyPem) },
      );
    }

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: CADDY_IMAGE, keepLocally: true },
      { ...parent, customTimeouts: { create: "10m", update: "10m" } },
    );

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

    this.container = new docker.Container(
      `${name}-container`,
      {
        name: `${args.prefix}-proxy`,
        image: image.imageId,
        envs: [
          pulumi.interpolate`${SITE_VARIABLE}=${args.site}`,
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
      },
      { ...parent, dependsOn: args.after, deleteBeforeReplace: true },
    );

    this.registerOutputs({ caCertificate: this.caCertificate });
  }
}
