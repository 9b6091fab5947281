// One reader per setting: each turns the engine's string into its typed form, or reports what is
// wrong with it, naming the key, the value and what is allowed.
import type * as pulumi from "@pulumi/pulumi";
import {
  dataBackupBucket,
  dataBackupPassword,
  dataBackupRegion,
  dataBackupRetention,
  dataBackups,
} from "./backups";
import { isCidr, isIpv6 } from "./networks";
import { sdk } from "./sdk";
import type { DEFAULTS, DropstackConfig } from "./settings";

const REGION = /^[a-z]{3}[0-9]$/;
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const FINGERPRINT = /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VOLUME_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$/;

/** What a key's reader may use: where to report problems and warnings, and how to name keys. */
export interface ReadContext {
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
export type Reader<T> = (value: string, context: ReadContext) => T;

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
export const READERS: { [K in keyof typeof DEFAULTS]: Reader<DropstackConfig[K]> } = {
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
  dropletBackups: bool,
  dataBackups,
  dataBackupRetention,
  dataBackupRegion,
  retainBackupsOnDestroy: bool,
  dataBackupBucket,
  dataBackupPassword,
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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
