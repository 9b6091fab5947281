// The only reader of pulumi.Config. It turns a stack's `Pulumi.<stack>.yaml` into one typed,
// validated object, or fails with every problem at once, each naming the key, the bad value and
// what is allowed.
import type * as pulumi from "@pulumi/pulumi";
import { runError } from "../runtime/run-error";
import { nearest } from "../stackfile/nearest";

/** Where the stack's services run. */
export type Target = "digitalocean" | "local";

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
  /** DigitalOcean weekly droplet backups. */
  backups: boolean;
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
  backups: false,
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

const REGION = /^[a-z]{3}[0-9]$/;
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const FINGERPRINT = /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VOLUME_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$/;

/** What a key's reader may use: where to report problems and warnings, and how to name keys. */
interface ReadContext {
  /** Reports the value as not allowed: `<key>: "<value>" <allowed>`. */
  fail(value: string, allowed: string): void;
  /** Reports a problem in the key's own words: `<key><message>`. */
  problem(message: string): void;
  warn(message: string): void;
  /** The key with its namespace, for messages. */
  key: string;
  /** Whether the key is stored as a secret. */
  secret: boolean;
}

/** Reads one key's value, as the engine hands it over, into its typed form. */
type Reader<T> = (value: string, context: ReadContext) => T;

const text =
  (pattern: RegExp, allowed: string): Reader<string> =>
  (value, { fail }) => {
    if (!pattern.test(value)) fail(value, allowed);
    return value;
  };

function oneOf<T extends string>(values: readonly T[], allowed: string): Reader<T> {
  return text(new RegExp(`^(${values.join("|")})$`), allowed) as Reader<T>;
}

const bool: Reader<boolean> = (value, { fail }) => {
  if (value !== "true" && value !== "false") fail(value, "is not a boolean; use true or false");
  return value === "true";
};

const wholeNumber =
  (min: number, max: number, unit: string): Reader<number> =>
  (value, { fail }) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      fail(value, `is not allowed; use a whole number of ${unit} from ${min} to ${max}`);
    }
    return n;
  };

const listOf =
  (check: (item: string) => boolean, allowed: string): Reader<string[]> =>
  (value, { fail }) => {
    const parsed = parseJson(value);
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
      fail(value, "is not a list of strings");
      return [];
    }
    for (const item of parsed) if (!check(item)) fail(item, allowed);
    return parsed as string[];
  };

// A fully qualified name: letters, digits and inner dashes per label, at least two labels.
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

const domain: Reader<string> = (value, { fail, key }) => {
  if (value !== "" && !DOMAIN.test(value)) {
    fail(
      value,
      /^\d{1,3}(\.\d{1,3}){3}$/.test(value) || isIpv6(value)
        ? `is an IP address, not a domain name; leave ${key} unset and the node's own address gets the certificate`
        : "is not a domain name; use a lowercase name like notebooks.example.com, without scheme, port or path",
    );
  }
  return value;
};

/** The most nodes a stack may have: a cluster bigger than this wants more than dropstack gives. */
export const MAX_NODES = 10;

const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** nodeTags: node numbers ("1", "2"...) to lists of tags, which become Swarm node labels. */
const nodeTags: Reader<Record<string, string[]>> = (value, { fail }) => {
  const parsed = parseJson(value);
  const tags: Record<string, string[]> = {};
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    fail(
      value,
      'is not a map of node numbers to tag lists; use one like {"1": ["db"], "2": ["gpu"]}',
    );
    return tags;
  }
  for (const [node, list] of Object.entries(parsed)) {
    if (!/^[1-9]\d*$/.test(node) || Number(node) > MAX_NODES) {
      fail(
        node,
        `is not a node number; use 1 to ${MAX_NODES} (1 is the first node, which holds the data)`,
      );
    } else if (!Array.isArray(list) || !list.every((t) => typeof t === "string" && TAG.test(t))) {
      fail(
        JSON.stringify(list),
        "is not a list of tags; use letters, digits, dots, dashes and underscores",
      );
    } else {
      tags[node] = list as string[];
    }
  }
  return tags;
};

/** stackVars: a map of variable names to plain values, secret as a whole if set with --secret. */
const stackVars: Reader<Record<string, pulumi.Input<string>>> = (value, context) => {
  const { fail, problem, warn, key, secret } = context;
  const vars: Record<string, pulumi.Input<string>> = {};
  const parsed = parseJson(value);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    fail(secret ? "[secret]" : value, "is not a map of names to values");
    return vars;
  }
  for (const [name, item] of Object.entries(parsed)) {
    if (!VAR_NAME.test(name)) {
      fail(name, "is not a variable name; use letters, digits and _, not starting with a digit");
    } else if (typeof item !== "string" && typeof item !== "number" && typeof item !== "boolean") {
      problem(`.${name}: is not a string, number or boolean`);
    } else {
      vars[name] = secret ? sdk().secret(String(item)) : String(item);
      if (!secret && /(PASSWORD|SECRET|TOKEN|KEY)$/.test(name)) {
        warn(
          `${key}.${name} looks like a secret but is stored in plain text in the stack's file; ` +
            `set it again with \`npx pulumi config set --secret --path stackVars.${name} <value>\``,
        );
      }
    }
  }
  return vars;
};

/** Every key this project reads, with its reader; the defaults are DEFAULTS'. */
const READERS: { [K in keyof typeof DEFAULTS]: Reader<DropstackConfig[K]> } = {
  target: oneOf(["digitalocean", "local"], "is not a target; use digitalocean or local"),
  region: text(REGION, "is not a DigitalOcean region slug; use one like nyc3, sfo3, ams3 or fra1"),
  size: text(SLUG, "is not a DigitalOcean size slug; use one like s-2vcpu-2gb or s-4vcpu-8gb"),
  image: text(SLUG, "is not a DigitalOcean image slug; use one like ubuntu-24-04-x64"),
  volumeSize: wholeNumber(1, 16384, "GiB"),
  retainDataOnDestroy: bool,
  dataVolumeId: text(
    VOLUME_ID,
    "is not a DigitalOcean volume ID; use the ID `doctl compute volume list` shows, like 506f78a4-e098-11e5-ad9f-000f53306ae1, or leave it unset",
  ),
  sshSourceCidrs: listOf(
    isCidr,
    "is not a CIDR; use an IPv4 or IPv6 network like 203.0.113.0/24, 198.51.100.7/32 or ::/0",
  ),
  sshKeyFingerprints: listOf(
    (f) => FINGERPRINT.test(f),
    "is not an SSH key fingerprint; use the MD5 form DigitalOcean shows, like 3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa",
  ),
  backups: bool,
  ipv6: bool,
  monitoring: bool,
  readinessTimeoutMinutes: wholeNumber(1, 120, "minutes"),
  stackfile: text(/\S/, "is not a file path"),
  stackVars,
  tls: oneOf(
    ["auto", "internal", "off"],
    "is not a TLS mode; use auto (a trusted certificate), internal (the stack's own CA) or off (plain HTTP)",
  ),
  domain,
  manageDns: bool,
  nodes: wholeNumber(1, MAX_NODES, "nodes"),
  nodeTags,
};

/** Validates raw config; throws one error listing every problem. */
export function parseConfig(
  raw: RawConfig,
  env: Record<string, string | undefined> = {},
  namespace = "dropstack",
): DropstackConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  const key = (k: string) => `${namespace}:${k}`;

  const values: Record<string, unknown> = {};
  for (const [k, read] of Object.entries(READERS) as [keyof typeof DEFAULTS, Reader<unknown>][]) {
    const value = raw.get(key(k));
    const fallback = DEFAULTS[k];
    values[k] =
      value === undefined
        ? // Copies, so no stack's config shares (and changes) the defaults' lists and maps.
          Array.isArray(fallback)
          ? [...fallback]
          : typeof fallback === "object"
            ? { ...fallback }
            : fallback
        : read(value, {
            fail: (shown, allowed) =>
              problems.push(`${key(k)}: ${JSON.stringify(shown)} ${allowed}`),
            problem: (message) => problems.push(`${key(k)}${message}`),
            warn: (message) => warnings.push(message),
            key: key(k),
            secret: raw.isSecret(key(k)),
          });
  }
  const result = { ...values, warnings } as DropstackConfig;

  // What no single key can say: settings that need each other, or mean nothing on a target.
  if (result.nodes > 1 && result.target === "local") {
    problems.push(
      `${key("nodes")}: ${result.nodes} needs target digitalocean: a cluster is several droplets, and the local target is this one machine`,
    );
  }
  for (const node of Object.keys(result.nodeTags).filter((n) => Number(n) > result.nodes)) {
    warnings.push(
      `${key("nodeTags")}: node ${node} does not exist with ${key("nodes")} ${result.nodes}; its tags are ignored`,
    );
  }
  if (result.manageDns && result.domain === "") {
    problems.push(
      `${key("manageDns")}: true needs ${key("domain")}, the name whose A record points at the node; set it, or set manageDns to false`,
    );
  }
  const sshSources = result.target === "digitalocean" ? result.sshSourceCidrs : [];
  for (const cidr of sshSources.filter(isDocumentationNetwork)) {
    warnings.push(
      `${key("sshSourceCidrs")}: ${cidr} is an example network reserved for documentation, which no ` +
        "machine is in: SSH to the node, and with it the deploy, will time out. Replace it with " +
        "the networks you work from, such as your public address followed by /32",
    );
  }
  if (result.target === "digitalocean" && result.tls === "off") {
    warnings.push(
      `${key("tls")} is off: the notebook password, its cookies and every notebook cross the internet ` +
        "in clear text. Leave it unset (auto) for HTTPS with a trusted certificate",
    );
  }
  if (result.target === "local" && (result.domain !== "" || result.manageDns)) {
    warnings.push(
      `${key("domain")} and ${key("manageDns")} are ignored with target local: the stack answers on localhost`,
    );
  }
  if (result.target === "local" && result.dataVolumeId !== "") {
    warnings.push(
      `${key("dataVolumeId")} is ignored with target local: data lives in named Docker volumes`,
    );
  }
  if (
    result.target === "digitalocean" &&
    raw.get("digitalocean:token") === undefined &&
    !env.DIGITALOCEAN_TOKEN &&
    !env.DIGITALOCEAN_ACCESS_TOKEN
  ) {
    problems.push(
      "digitalocean:token: is not set; run `npx pulumi config set --secret digitalocean:token <token>` " +
        "with a token from the DigitalOcean control panel (API > Tokens), or export DIGITALOCEAN_TOKEN",
    );
  }

  // A mistyped key would otherwise be silently ignored and its default used.
  const known = new Set<string>(CONFIG_KEYS);
  for (const full of raw.keys?.() ?? []) {
    if (!full.startsWith(`${namespace}:`)) continue;
    const k = full.slice(namespace.length + 1);
    if (!known.has(k)) {
      const hint = nearest(k, [...known]);
      problems.push(
        `${full}: is not a dropstack setting${hint ? `; did you mean ${key(hint)}?` : ""}`,
      );
    }
  }

  if (problems.length > 0) {
    throw runError(`Invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
  }
  return result;
}

/**
 * Every tag a cluster's nodes carry: dropstack:nodeTags of the nodes that exist, which become
 * their Swarm node labels. A service tagged with none of them could never be placed.
 */
export function clusterNodeTags(config: Pick<DropstackConfig, "nodes" | "nodeTags">): string[] {
  const tags = Object.entries(config.nodeTags)
    .filter(([node]) => Number(node) <= config.nodes)
    .flatMap(([, list]) => list);
  return [...new Set(tags)];
}

/** Reads this stack's config from the Pulumi engine. */
export function loadConfig(): DropstackConfig {
  const all = sdk().runtime.allConfig();
  return parseConfig(
    {
      get: (k) => all[k],
      isSecret: (k) => isConfigSecret(k),
      keys: () => Object.keys(all),
    },
    process.env,
  );
}

// The rules above are pure: the command line checks a stack's config with them, and loading the
// SDK (gRPC, OpenTelemetry, npm's package libraries) took a second of its start-up. Only what
// needs the SDK loads it, when it runs.
function sdk(): typeof pulumi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("@pulumi/pulumi");
}

// The SDK knows which keys are secret but exports the check only from its runtime module.
// If that ever moves, treat every key as secret: safe, if over-cautious.
function isConfigSecret(k: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as {
    isConfigSecret?: (key: string) => boolean;
  };
  return runtimeConfig.isConfigSecret ? runtimeConfig.isConfigSecret(k) : true;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * True for a network inside the ranges reserved for documentation (RFC 5737's 192.0.2.0/24,
 * 198.51.100.0/24 and 203.0.113.0/24, RFC 3849's 2001:db8::/32): examples, never real sources.
 */
export function isDocumentationNetwork(cidr: string): boolean {
  const [address, bits] = cidr.split("/");
  if (address.includes(":")) return /^2001:0?db8:/i.test(address) && Number(bits) >= 32;
  return /^(192\.0\.2|198\.51\.100|203\.0\.113)\./.test(address) && Number(bits) >= 24;
}

/** True for an IPv4 or IPv6 network in CIDR form. */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split("/");
  if (rest.length > 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const prefix = Number(bits);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    return prefix <= 32 && address.split(".").every((octet) => Number(octet) <= 255);
  }
  return prefix <= 128 && isIpv6(address);
}

function isIpv6(address: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(address) || address.split("::").length > 2) return false;
  const groups = address.split(":").filter((g) => g !== "");
  if (groups.some((g) => g.length > 4)) return false;
  return address.includes("::") ? groups.length < 8 : groups.length === 8;
}
