// The stack's settings: their types, their defaults (the same as Pulumi.yaml's), and the raw
// form the Pulumi engine hands them over in.
import type * as pulumi from "@pulumi/pulumi";

/** Where the stack's services run. */
export type Target = "digitalocean" | "local";

/** How often data backups run; `off`: none. */
export type BackupSchedule = "off" | "daily" | "hourly";

/** How many backups `restic forget` keeps of each kind (the newest of each day, week, month). */
export interface BackupRetention {
  daily: number;
  weekly: number;
  monthly: number;
}

/** How the front proxy gets its certificate, if there is a proxy at all. */
export type TlsMode = "auto" | "internal" | "off";

export interface DropstackConfig {
  /** Where the services run: a DigitalOcean droplet, or this machine's Docker engine. */
  target: Target;
  /** DigitalOcean region slug of the node and its data volume. */
  region: string;
  /** DigitalOcean droplet size slug. */
  size: string;
  /** DigitalOcean image slug of the node's operating system. */
  image: string;
  /** Size of the data volume, in GiB. */
  volumeSize: number;
  /** Keep the data volume (notebooks, Mongo data) when the stack is destroyed. */
  retainDataOnDestroy: boolean;
  /** An existing volume (one a destroyed stack kept) to adopt as the data volume; "": none. */
  dataVolumeId: string;
  /** Source addresses allowed to reach SSH (port 22) on the node. */
  sshSourceCidrs: string[];
  /** Fingerprints of SSH keys already in the DigitalOcean account to add to the node. */
  sshKeyFingerprints: string[];
  /**
   * DigitalOcean's droplet backups: images of the droplet's own disk, which hold the operating
   * system and Docker, not the data volume (see dataBackups for the notebooks and databases).
   */
  dropletBackups: boolean;
  /** How often the stack's data (the data volume's files, database dumps) is backed up. */
  dataBackups: BackupSchedule;
  /** How many daily, weekly and monthly data backups to keep. */
  dataBackupRetention: BackupRetention;
  /** The Spaces region of the backups' bucket; "": the stack's region. */
  dataBackupRegion: string;
  /** Keep the backups' bucket (and the backups in it) when the stack is destroyed. */
  retainBackupsOnDestroy: boolean;
  /**
   * An existing bucket of backups to back up into and restore from (a destroyed stack's, kept),
   * instead of a new one; "": the stack makes its own.
   */
  dataBackupBucket: string;
  /** The repository password of dataBackupBucket's backups (set as a secret); "": generated. */
  dataBackupPassword: string;
  /** A public IPv6 address for the node. */
  ipv6: boolean;
  /** DigitalOcean's monitoring agent on the node. */
  monitoring: boolean;
  /** How long to wait for the node (cloud-init, Docker) and for the app to answer, in minutes. */
  readinessTimeoutMinutes: number;
  /** The Stackfile to deploy, relative to the project folder. */
  stackfile: string;
  /** Values for `${VAR}` in the Stackfile; secret values stay secret. */
  stackVars: Record<string, pulumi.Input<string>>;
  /**
   * HTTPS in front of the web service: `auto` (a publicly trusted certificate on a node; plain
   * HTTP on the local target), `internal` (the stack's own CA) or `off` (plain HTTP).
   */
  tls: TlsMode;
  /** A domain name for the node's certificate and URL; "": the node's IP address. */
  domain: string;
  /** Create (and delete with the stack) an A record for `domain` in DigitalOcean's DNS. */
  manageDns: boolean;
  /** How many droplets: 1 is one node; more form a Docker Swarm cluster. */
  nodes: number;
  /** Tags of each cluster node, by node number ("1" is the first, the data node). */
  nodeTags: Record<string, string[]>;
  /** Things that work but are probably not what the user meant, for `pulumi.log.warn`. */
  warnings: string[];
}

/** Every key's default; `Pulumi.yaml` declares the same ones (a test keeps them equal). */
export const DEFAULTS = {
  target: "digitalocean",
  region: "nyc3",
  size: "s-2vcpu-2gb",
  image: "ubuntu-24-04-x64",
  volumeSize: 10,
  retainDataOnDestroy: false,
  dataVolumeId: "",
  sshSourceCidrs: ["0.0.0.0/0", "::/0"],
  sshKeyFingerprints: [],
  dropletBackups: false,
  dataBackups: "off",
  dataBackupRetention: { daily: 7, weekly: 4, monthly: 6 },
  dataBackupRegion: "",
  retainBackupsOnDestroy: true,
  dataBackupBucket: "",
  dataBackupPassword: "",
  ipv6: false,
  monitoring: true,
  readinessTimeoutMinutes: 10,
  stackfile: "stacks/datascience.yml",
  stackVars: {},
  tls: "auto",
  domain: "",
  manageDns: false,
  nodes: 1,
  nodeTags: {},
} as const satisfies Partial<Record<keyof DropstackConfig, unknown>>;

/** The keys this project reads: every one has a default. */
export const CONFIG_KEYS: readonly string[] = Object.keys(DEFAULTS);

/**
 * Raw stack config as the Pulumi engine hands it over: each key's value as a string (objects and
 * arrays as JSON), plus whether the key was stored as a secret.
 */
export interface RawConfig {
  get(key: string): string | undefined;
  isSecret(key: string): boolean;
  /** Every key that is set, to catch misspelt ones. */
  keys?(): string[];
}
