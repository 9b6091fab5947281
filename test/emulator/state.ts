// What the emulated DigitalOcean account holds. Records keep what the API was given (user_data,
// the keys' public halves) as well as what it answers, so a test can look at both.
import { ImageInfo } from "./catalog";

export interface SshKeyRecord {
  id: number;
  name: string;
  fingerprint: string;
  publicKey: string;
}

export interface DropletRecord {
  id: number;
  name: string;
  region: string;
  size: string;
  image: ImageInfo;
  /** user_data as given at create (the API never answers it). */
  userData: string;
  /** The account's keys named at create, for root's authorized_keys. */
  sshKeys: SshKeyRecord[];
  tags: string[];
  volumeIds: string[];
  vpcUuid: string;
  ipv6: boolean;
  monitoring: boolean;
  backups: boolean;
  dropletAgent: boolean;
  /** new until bootDroplet resolves, then active; off when powered off; errored if boot failed. */
  status: "new" | "active" | "off" | "errored";
  locked: boolean;
  createdAt: string;
  /** Set once booted. */
  publicIpv4?: string;
  privateIpv4?: string;
  ipv6Address?: string;
  backupPolicy?: unknown;
}

export interface VolumeRecord {
  id: string;
  name: string;
  region: string;
  sizeGigabytes: number;
  description: string;
  filesystemType: string;
  filesystemLabel: string;
  tags: string[];
  dropletIds: number[];
  createdAt: string;
}

export interface FirewallRule {
  protocol: string;
  ports: string;
  /** sources (inbound) or destinations (outbound): only the non-empty lists. */
  targets: Record<string, unknown[]>;
}

export interface FirewallRecord {
  id: string;
  name: string;
  inbound: FirewallRule[];
  outbound: FirewallRule[];
  dropletIds: number[];
  tags: string[];
  createdAt: string;
}

export interface VpcRecord {
  id: string;
  name: string;
  region: string;
  description: string;
  ipRange: string;
  isDefault: boolean;
  createdAt: string;
  /** The last host number handed out in ipRange. */
  lastHost: number;
}

export interface DomainRecord {
  name: string;
  ttl: number;
}

export interface DnsRecordRecord {
  id: number;
  domain: string;
  type: string;
  name: string;
  data: string;
  priority: number | null;
  port: number | null;
  ttl: number;
  weight: number | null;
  flags: number | null;
  tag: string | null;
}

export interface ActionRecord {
  id: number;
  type: string;
  status: "in-progress" | "completed" | "errored";
  startedAt: string;
  completedAt: string | null;
  resourceId: number;
  resourceType: string;
  region: string | null;
  /** A volume action's volume (its resource_id is 0: volume IDs are UUIDs). */
  volumeId?: string;
}

export interface SpacesKeyRecord {
  name: string;
  accessKey: string;
  secretKey: string;
  /** `bucket` "" with fullaccess: every bucket of the account. */
  grants: { bucket: string; permission: string }[];
  createdAt: string;
}

/** Something that went wrong outside a request: a boot or a hook that failed. */
export interface EmulatorProblem {
  what: string;
  error: string;
}

export class EmulatorState {
  readonly droplets = new Map<number, DropletRecord>();
  readonly volumes = new Map<string, VolumeRecord>();
  readonly sshKeys = new Map<number, SshKeyRecord>();
  readonly firewalls = new Map<string, FirewallRecord>();
  /** Tag names; which resources carry a tag is read off the resources. */
  readonly tags = new Set<string>();
  readonly vpcs = new Map<string, VpcRecord>();
  readonly domains = new Map<string, DomainRecord>();
  readonly records = new Map<number, DnsRecordRecord>();
  readonly actions = new Map<number, ActionRecord>();
  /** Spaces keys by access key. */
  readonly spacesKeys = new Map<string, SpacesKeyRecord>();
  readonly problems: EmulatorProblem[] = [];

  private nextIds = {
    droplet: 512000001,
    key: 41000001,
    action: 2100000001,
    record: 1700000001,
    loopback: 10,
    vpc: 0,
  };

  nextDropletId(): number {
    return this.nextIds.droplet++;
  }
  nextKeyId(): number {
    return this.nextIds.key++;
  }
  nextActionId(): number {
    return this.nextIds.action++;
  }
  nextRecordId(): number {
    return this.nextIds.record++;
  }
  /** 127.0.0.N, N from 10 up, one per droplet: the default booted droplet's address. */
  nextLoopback(): string {
    const n = this.nextIds.loopback++;
    if (n > 254) throw new Error("dropstack emulator: out of 127.0.0.N addresses");
    return `127.0.0.${n}`;
  }
  /** The next VPC's number, which picks its private range. */
  nextVpcNumber(): number {
    return this.nextIds.vpc++;
  }
}
