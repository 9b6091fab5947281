/** A parsed, validated Stackfile: what the components deploy and what `compose` exports. */
export interface StackSpec {
  /** The Stackfile's path, as given. */
  file: string;
  /** Services in file order. */
  services: ServiceSpec[];
  /**
   * Variables the Stackfile uses that no value was given for and whose names mark them as
   * secrets (…PASSWORD, …SECRET, …TOKEN, …KEY): generated at deploy time.
   */
  generated: string[];
  /** Every variable the Stackfile uses, set or generated. */
  variables: string[];
}

export type Protocol = "tcp" | "udp";

export interface PortSpec {
  container: number;
  /** Host port; undefined publishes on an ephemeral port. */
  host?: number;
  protocol: Protocol;
}

export interface VolumeSpec {
  /** Host side: absolute path, path under the data volume, or undefined for an anonymous volume. */
  source?: string;
  /** Whether `source` is relative to the node's data folder for this service. */
  onDataVolume: boolean;
  target: string;
  readOnly: boolean;
}

export interface LinkSpec {
  service: string;
  alias: string;
}

export interface HealthcheckSpec {
  test: string[];
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  retries?: number;
}

export type RestartPolicy = "no" | "on-failure" | "always" | "unless-stopped";

/**
 * One service. String values may hold secret placeholders (see `secretToken`): the Stack
 * component swaps in the secret values, which never pass through this spec.
 */
export interface ServiceSpec {
  name: string;
  /** The image to pull, or the tag given to a built image. */
  image?: string;
  build?: {
    context: string;
    dockerfile?: string;
    args: Record<string, string>;
    /** Where the Stackfile sets `build`, for problems found outside the parser. */
    at?: { line: number; column: number };
  };
  command?: string[];
  entrypoint?: string[];
  environment: Record<string, string>;
  links: LinkSpec[];
  ports: PortSpec[];
  expose: { port: number; protocol: Protocol }[];
  volumes: VolumeSpec[];
  volumesFrom: { service: string; readOnly: boolean }[];
  restart: RestartPolicy;
  replicas: number;
  sequential: boolean;
  /** Docker Cloud's node choice; on a cluster, how Swarm places the containers. */
  deploymentStrategy?: "emptiest_node" | "high_availability" | "every_node";
  /** Node tags the service needs; on a cluster, placement constraints. */
  tags: string[];
  healthcheck?: HealthcheckSpec;
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  devices: { host: string; container: string; permissions: string }[];
  networkMode?: "bridge" | "host";
  pidMode?: "host";
  dns: string[];
  dnsSearch: string[];
  extraHosts: { host: string; ip: string }[];
  labels: Record<string, string>;
  securityOpt: string[];
  cgroupParent?: string;
  workingDir?: string;
  user?: string;
  hostname?: string;
  domainname?: string;
  macAddress?: string;
  cpuShares?: number;
  cpuset?: string;
  /** In bytes. */
  memLimit?: number;
  /** In bytes; -1 for unlimited. */
  memswapLimit?: number;
  readOnly?: boolean;
  stdinOpen?: boolean;
  tty?: boolean;
}

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
}
