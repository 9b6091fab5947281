// The only reader of pulumi.Config. It turns a stack's `Pulumi.<stack>.yaml` into one typed,
// validated object, or fails with every problem at once, each naming the key, the bad value and
// what is allowed. The settings and their defaults are in settings.ts, one reader per setting in
// readers.ts, the rules between settings in rules.ts; all of it pure, so the command line checks a
// stack's config without loading the Pulumi SDK (sdk.ts loads it where it is needed).
import type * as pulumi from "@pulumi/pulumi";
import { runError } from "../runtime/run-error";
import { READERS } from "./readers";
import type { Reader } from "./readers";
import { crossKeyRules, unknownKeys } from "./rules";
import type { Findings } from "./rules";
import { SPACES_ENDPOINT } from "./backups";
import { tagFor } from "./naming";
import { isConfigSecret, sdk } from "./sdk";
import { DEFAULTS } from "./settings";
import type { DropstackConfig, RawConfig } from "./settings";

export { CONFIG_KEYS, DEFAULTS } from "./settings";
export type {
  BackupRetention,
  BackupSchedule,
  DropstackConfig,
  RawConfig,
  Target,
  TlsMode,
} from "./settings";
export { backupRegion, SCHEDULE_SECONDS, SPACES_REGIONS, spacesEndpoint } from "./backups";
export { MAX_NODES } from "./readers";
export { isCidr, isDocumentationNetwork } from "./networks";

/** Validates raw config; throws one error listing every problem. */
export function parseConfig(
  raw: RawConfig,
  env: Record<string, string | undefined> = {},
  namespace = "dropstack",
): DropstackConfig {
  const findings: Findings = { problems: [], warnings: [] };
  const key = (k: string) => `${namespace}:${k}`;
  const config = readSettings(raw, key, findings);
  crossKeyRules({ config, raw, env, key }, findings);
  unknownKeys(raw, namespace, key, findings.problems);
  if (findings.problems.length > 0) {
    throw runError(`Invalid stack configuration:\n  - ${findings.problems.join("\n  - ")}`);
  }
  return config;
}

/** Every setting through its reader, or its default where it is not set. */
function readSettings(
  raw: RawConfig,
  key: (k: string) => string,
  { problems, warnings }: Findings,
): DropstackConfig {
  const values: Record<string, unknown> = {};
  for (const [k, read] of Object.entries(READERS) as [keyof typeof DEFAULTS, Reader<unknown>][]) {
    const value = raw.get(key(k));
    values[k] =
      value === undefined
        ? copyOf(DEFAULTS[k])
        : read(value, {
            fail: (shown, allowed) =>
              problems.push(`${key(k)}: ${JSON.stringify(shown)} ${allowed}`),
            problem: (message) => problems.push(`${key(k)}${message}`),
            warn: (message) => warnings.push(message),
            key: key(k),
            secret: raw.isSecret(key(k)),
          });
  }
  return { ...values, warnings } as DropstackConfig;
}

/** A copy of a default, so no stack's config shares (and changes) the defaults' lists and maps. */
function copyOf(fallback: unknown): unknown {
  if (Array.isArray(fallback)) return [...fallback];
  return typeof fallback === "object" && fallback !== null ? { ...fallback } : fallback;
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

/**
 * The tags a Stackfile's services may ask of the nodes: those every node carries (the stack's and
 * `dropstack`, which are its droplets' tags) and, on a cluster, those dropstack:nodeTags gives
 * the nodes that exist; with `firstNode`, the first node's alone, where services with data run.
 */
export function serviceTags(
  config: Pick<DropstackConfig, "nodes" | "nodeTags">,
  stack: string,
  firstNode = false,
): string[] {
  const given = firstNode ? (config.nodeTags["1"] ?? []) : clusterNodeTags(config);
  return [tagFor(stack), "dropstack", ...given];
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

/**
 * The DigitalOcean API token as the stack sets it (`digitalocean:token`, secret), for a provider
 * of the program's own: an explicit provider does not read the default provider's config. Unset,
 * the provider reads DIGITALOCEAN_TOKEN, as the default one does.
 */
export function digitalOceanToken(): pulumi.Output<string> | undefined {
  return new (sdk().Config)("digitalocean").getSecret("token");
}

/**
 * The provider's Spaces endpoint template, as the stack sets it (`digitalocean:spacesEndpoint`)
 * or the environment (`SPACES_ENDPOINT_URL`, which the provider reads); DigitalOcean's own
 * otherwise. Given to the program's Spaces provider and to restic alike.
 */
export function spacesEndpointTemplate(): string {
  return (
    new (sdk().Config)("digitalocean").get("spacesEndpoint") ??
    process.env.SPACES_ENDPOINT_URL ??
    SPACES_ENDPOINT
  );
}
