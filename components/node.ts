import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as fs from "fs";
import * as path from "path";
import { DATA_MOUNT, renderUserData } from "../cloud-init";
import { DEFAULTS } from "../config";
import { PUBLIC_PORTS } from "../config/warnings";
import { sshOptions } from "./ssh-options";

export { sshOptions };

export interface NodeArgs {
  /** DigitalOcean region slug. @default "nyc3" */
  region?: string;
  /** Droplet size slug. @default "s-2vcpu-2gb" */
  size?: string;
  /** Image slug. @default "ubuntu-24-04-x64" */
  image?: string;
  /** Extra droplet tags; "dropstack" is always added. @default [] */
  tags?: string[];
  /** DigitalOcean monitoring agent. @default true */
  monitoring?: boolean;
  /**
   * DigitalOcean's droplet backups: images of the droplet's disk, not of the data volume.
   * @default false
   */
  dropletBackups?: boolean;
  /** A public IPv6 address. @default false */
  ipv6?: boolean;
  /** Data volume size in GiB. @default 10 */
  volumeSize?: number;
  /** Keep the data volume on `pulumi destroy`. @default false */
  retainDataOnDestroy?: boolean;
  /**
   * The ID of an existing volume to adopt as the data volume instead of creating one: the one a
   * destroyed stack kept. Its name, region and size must match this node's. "" creates a new
   * volume. @default ""
   */
  dataVolumeId?: string;
  /** Sources allowed to reach SSH. @default ["0.0.0.0/0", "::/0"] */
  sshSourceCidrs?: string[];
  /** Fingerprints of SSH keys in the DigitalOcean account to add to root. @default [] */
  sshKeyFingerprints?: string[];
  /** How long to wait for cloud-init and Docker, in minutes. @default 10 */
  readinessTimeoutMinutes?: number;
  /**
   * Folder, relative to the project, for the deploy key and the pinned known_hosts
   * (git-ignored). Relative so the Docker provider's settings are the same on every machine.
   */
  sshDir: string;
  /** Base for DigitalOcean names (droplet, volume, key, firewall): lowercase, digits, dashes. */
  resourcePrefix: string;
  /** A data volume on this node; false for a cluster's other nodes. @default true */
  dataVolume?: boolean;
}

// Relative to the project folder, where Pulumi runs commands: an absolute path would differ
// between machines and re-run the readiness step for nothing.
const READY_SCRIPT = path.relative(
  process.cwd(),
  path.join(__dirname, "..", "cloud-init", "wait-ready.sh"),
);

/**
 * A DigitalOcean droplet with Docker, installed by cloud-init, a data volume that outlives it,
 * and the SSH material to reach its Docker engine with a pinned host key.
 */
export class Node extends pulumi.ComponentResource {
  /** The node's public IPv4 address. */
  public readonly ipv4Address: pulumi.Output<string>;
  /** The Docker host the provider connects to: `ssh://root@<ip>`. */
  public readonly dockerHost: pulumi.Output<string>;
  /** `ssh` options for the Docker provider: the deploy key and the pinned host key. */
  public readonly sshOpts: pulumi.Output<string[]>;
  /** A command that opens a shell on the node. */
  public readonly sshCommand: pulumi.Output<string>;
  /**
   * How the scripts that run on the machine of whoever runs `up` reach the node over its pinned
   * SSH (wait-ready.sh, image-inspect.sh, swarm.sh): DROPSTACK_HOST and DROPSTACK_SSH_OPTS.
   */
  public readonly sshEnvironment: {
    DROPSTACK_HOST: pulumi.Output<string>;
    DROPSTACK_SSH_OPTS: pulumi.Output<string>;
  };
  /** Completes when cloud-init has finished, the data volume is mounted and Docker answers. */
  public readonly readiness: command.local.Command;
  /** Where the data volume is mounted on the node. */
  public readonly dataPath: string = DATA_MOUNT;
  /** The droplet. */
  public readonly droplet: digitalocean.Droplet;
  /** The data volume's ID: set it as `dataVolumeId` to get the data back after a destroy. */
  public readonly dataVolumeId: pulumi.Output<string> | undefined;
  /** The droplet's address in the region's VPC (a cluster's nodes talk Swarm over it). */
  public readonly privateAddress: pulumi.Output<string>;
  /** The droplet's name, which is also its hostname and its Swarm node name. */
  public readonly hostname: string;

  constructor(name: string, args: NodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dropstack:index:Node", name, {}, opts);
    const parent = { parent: this };
    const prefix = args.resourcePrefix;

    const { deployKey, hostKey, sshKey } = sshKeys(name, prefix, parent);

    const region = args.region ?? DEFAULTS.region;
    const volumeName = `${prefix}-data`;
    const volume = dataVolume(name, args, region, volumeName, parent);
    this.dataVolumeId = volume?.id;

    const userData = hostUserData(hostKey, volume ? volumeName : undefined);
    this.droplet = nodeDroplet(name, args, region, sshKey, userData, volume, parent);
    this.hostname = prefix;
    this.privateAddress = this.droplet.ipv4AddressPrivate;
    const dropletId = this.droplet.id.apply(Number);

    firewall(name, args, dropletId, parent);

    this.ipv4Address = this.droplet.ipv4Address;
    this.dockerHost = pulumi.interpolate`ssh://root@${this.ipv4Address}`;

    const access = sshAccess(args.sshDir, deployKey, hostKey, this.ipv4Address);
    this.sshOpts = access.sshOpts;
    this.sshCommand = access.sshCommand;
    this.sshEnvironment = access.sshEnvironment;

    this.readiness = readinessCommand(
      name,
      args,
      this.droplet,
      this.sshEnvironment,
      volume,
      parent,
    );

    this.registerOutputs({
      ipv4Address: this.ipv4Address,
      dockerHost: this.dockerHost,
      sshCommand: this.sshCommand,
      dataVolumeId: this.dataVolumeId,
    });
  }
}

/** Options that make a resource a child of the node. */
type Parent = { parent: pulumi.Resource };

/** The deploy key, the pinned host key, and the deploy key registered with DigitalOcean. */
function sshKeys(name: string, prefix: string, parent: Parent) {
  const deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, parent);
  const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, parent);
  const sshKey = new digitalocean.SshKey(
    `${name}-ssh-key`,
    { name: `${prefix}-deploy`, publicKey: deployKey.publicKeyOpenssh },
    parent,
  );
  return { deployKey, hostKey, sshKey };
}

/** The data volume (created, or adopted from `dataVolumeId`); undefined without one. */
function dataVolume(
  name: string,
  args: NodeArgs,
  region: string,
  volumeName: string,
  parent: Parent,
): digitalocean.Volume | undefined {
  const prefix = args.resourcePrefix;
  return args.dataVolume === false
    ? undefined
    : new digitalocean.Volume(
        `${name}-data`,
        {
          name: volumeName,
          region,
          size: args.volumeSize ?? DEFAULTS.volumeSize,
          initialFilesystemType: "ext4",
          description: `dropstack data (${prefix}): notebooks and databases`,
        },
        {
          ...parent,
          retainOnDelete: args.retainDataOnDestroy ?? DEFAULTS.retainDataOnDestroy,
          // Adopts the kept volume on the first `up`; once it is in the state, the engine
          // treats the option as a no-op. https://www.pulumi.com/docs/iac/concepts/options/import/
          import: args.dataVolumeId ? args.dataVolumeId : undefined,
          // The provider never reads initial_filesystem_type back, and it forces a new
          // volume: without this, adopting a kept volume would be a replacement, which the
          // engine refuses for an import (terraform-provider-digitalocean#984). A kept
          // volume may also carry the description of an older dropstack.
          ignoreChanges: ["initialFilesystemType", "description"],
        },
      );
}

/** The droplet's user_data, from the host key and the data volume's name (if any). */
function hostUserData(
  hostKey: tls.PrivateKey,
  volumeName: string | undefined,
): pulumi.Output<string> {
  // Only the host key and the volume's name reach user_data: never anything about services.
  return pulumi
    .all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh])
    .apply(([privateKeyOpenssh, publicKeyOpenssh]) =>
      renderUserData({
        hostKey: { privateKeyOpenssh, publicKeyOpenssh },
        volumeName,
      }),
    );
}

/** The droplet, with the data volume attached. */
function nodeDroplet(
  name: string,
  args: NodeArgs,
  region: string,
  sshKey: digitalocean.SshKey,
  userData: pulumi.Output<string>,
  volume: digitalocean.Volume | undefined,
  parent: Parent,
): digitalocean.Droplet {
  return new digitalocean.Droplet(
    `${name}-droplet`,
    {
      name: args.resourcePrefix,
      region,
      size: args.size ?? DEFAULTS.size,
      image: args.image ?? DEFAULTS.image,
      tags: [...new Set([...(args.tags ?? []), "dropstack"])],
      monitoring: args.monitoring ?? DEFAULTS.monitoring,
      backups: args.dropletBackups ?? DEFAULTS.dropletBackups,
      ipv6: args.ipv6 ?? DEFAULTS.ipv6,
      sshKeys: [sshKey.fingerprint, ...(args.sshKeyFingerprints ?? DEFAULTS.sshKeyFingerprints)],
      userData: pulumi.secret(userData),
      // Attached when the droplet is made, detached when it goes: on a replacement (a new
      // user_data, image or key) the old droplet is shut down cleanly first, then the volume
      // moves to the new one. An attachment of its own would attach to the new droplet while
      // the old one still held the volume, and fail.
      volumeIds: volume ? [volume.id] : undefined,
      gracefulShutdown: true,
    },
    {
      ...parent,
      // The volume attaches to one droplet at a time, so the old one goes first.
      deleteBeforeReplace: true,
      // A clean shutdown before deletion can take longer than the provider's 60 s.
      customTimeouts: { delete: "10m" },
    },
  );
}

/** The droplet's firewall: SSH from `sshSourceCidrs`, the public ports from anywhere. */
function firewall(
  name: string,
  args: NodeArgs,
  dropletId: pulumi.Output<number>,
  parent: Parent,
): digitalocean.Firewall {
  const anywhere = ["0.0.0.0/0", "::/0"];
  return new digitalocean.Firewall(
    `${name}-firewall`,
    {
      name: args.resourcePrefix,
      dropletIds: [dropletId],
      inboundRules: [
        {
          protocol: "tcp",
          portRange: "22",
          sourceAddresses: [...(args.sshSourceCidrs ?? DEFAULTS.sshSourceCidrs)],
        },
        ...PUBLIC_PORTS.map((port) => ({
          protocol: "tcp",
          portRange: port,
          sourceAddresses: anywhere,
        })),
      ],
      outboundRules: [
        { protocol: "tcp", portRange: "1-65535", destinationAddresses: anywhere },
        { protocol: "udp", portRange: "1-65535", destinationAddresses: anywhere },
        { protocol: "icmp", destinationAddresses: anywhere },
      ],
    },
    parent,
  );
}

/**
 * The SSH files in `sshDir` and what reaches the node with them: the options, a shell command
 * and the scripts' environment.
 */
function sshAccess(
  sshDir: string,
  deployKey: tls.PrivateKey,
  hostKey: tls.PrivateKey,
  ipv4Address: pulumi.Output<string>,
) {
  const keyPath = path.join(sshDir, "id_ed25519");
  const knownHostsPath = path.join(sshDir, "known_hosts");
  // Written on every run from state, so any machine with access to the stack can connect.
  const sshFiles = pulumi
    .all([deployKey.privateKeyOpenssh, hostKey.publicKeyOpenssh, ipv4Address])
    .apply(([privateKey, hostPublicKey, ip]) => {
      writeSshFiles(sshDir, privateKey, knownHostsLine(ip, hostPublicKey));
      return { keyPath, knownHostsPath };
    });
  const sshOpts = sshFiles.apply((files) => sshOptions(files.keyPath, files.knownHostsPath));
  const sshCommand = pulumi.interpolate`ssh ${sshOpts.apply((o) => o.join(" "))} root@${ipv4Address}`;
  const sshEnvironment = {
    DROPSTACK_HOST: ipv4Address,
    DROPSTACK_SSH_OPTS: sshOpts.apply((o) => o.join(" ")),
  };
  return { sshOpts, sshCommand, sshEnvironment };
}

/** Waits for cloud-init, the data volume and Docker on the node (wait-ready.sh). */
function readinessCommand(
  name: string,
  args: NodeArgs,
  droplet: digitalocean.Droplet,
  sshEnvironment: Node["sshEnvironment"],
  volume: digitalocean.Volume | undefined,
  parent: Parent,
): command.local.Command {
  const timeoutSeconds = (args.readinessTimeoutMinutes ?? DEFAULTS.readinessTimeoutMinutes) * 60;
  return new command.local.Command(
    `${name}-ready`,
    {
      create: pulumi.interpolate`sh ${shellQuote(READY_SCRIPT)}`,
      environment: {
        ...sshEnvironment,
        DROPSTACK_TIMEOUT: String(timeoutSeconds),
        DROPSTACK_DATA_MOUNT: volume ? DATA_MOUNT : "",
      },
      // Again for a larger volume, whose filesystem node-check.sh then grows.
      triggers: [droplet.id, ...(volume ? [volume.id, volume.size] : [])],
    },
    {
      ...parent,
      dependsOn: [droplet],
      customTimeouts: { create: `${timeoutSeconds + 120}s` },
    },
  );
}

/** A known_hosts line pinning `hostPublicKey` for `host`. */
export function knownHostsLine(host: string, hostPublicKey: string): string {
  return `${host} ${hostPublicKey.trim()}\n`;
}

/** Writes the deploy key (mode 0600) and known_hosts into `dir`, only where they changed. */
export function writeSshFiles(dir: string, privateKey: string, knownHosts: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeIfChanged(path.join(dir, "id_ed25519"), privateKey, 0o600);
  writeIfChanged(path.join(dir, "known_hosts"), knownHosts, 0o644);
}

function writeIfChanged(file: string, content: string, mode: number): void {
  const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  if (current !== content) fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

/** Quotes a word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
