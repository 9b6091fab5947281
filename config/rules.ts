// What no single setting can say: settings that need each other or mean nothing on a target, and
// keys that are not dropstack settings at all.
import { nearest } from "../stackfile/nearest";
import { backupRules, RENAMED_KEYS } from "./backups";
import { isDocumentationNetwork } from "./networks";
import { CONFIG_KEYS } from "./settings";
import type { DropstackConfig, RawConfig } from "./settings";

/** Where rules report: problems stop the run, warnings are shown. */
export interface Findings {
  problems: string[];
  warnings: string[];
}

/** What the rules read: the typed config, the raw one, the environment, how to name a key. */
export interface RuleInput {
  config: DropstackConfig;
  raw: RawConfig;
  env: Record<string, string | undefined>;
  /** A key with its namespace, for messages. */
  key: (k: string) => string;
}

/** The rules between settings, on the typed config. */
export function crossKeyRules(input: RuleInput, { problems, warnings }: Findings): void {
  const { config, key } = input;
  if (config.nodes > 1 && config.target === "local") {
    problems.push(
      `${key("nodes")}: ${config.nodes} needs target digitalocean: a cluster is several droplets, and the local target is this one machine`,
    );
  }
  for (const node of Object.keys(config.nodeTags).filter((n) => Number(n) > config.nodes)) {
    warnings.push(
      `${key("nodeTags")}: node ${node} does not exist with ${key("nodes")} ${config.nodes}; its tags are ignored`,
    );
  }
  if (config.manageDns && config.domain === "") {
    problems.push(
      `${key("manageDns")}: true needs ${key("domain")}, the name whose A record points at the node; set it, or set manageDns to false`,
    );
  }
  backupRules(input, { problems, warnings });
  if (config.target === "digitalocean") digitalOceanRules(input, { problems, warnings });
  else localRules(input, warnings);
}

/** What the droplet target needs: a token, SSH sources someone is in, HTTPS. */
function digitalOceanRules(
  { config, raw, env, key }: RuleInput,
  { problems, warnings }: Findings,
): void {
  for (const cidr of config.sshSourceCidrs.filter(isDocumentationNetwork)) {
    warnings.push(
      `${key("sshSourceCidrs")}: ${cidr} is an example network reserved for documentation, which no ` +
        "machine is in: SSH to the node, and with it the deploy, will time out. Replace it with " +
        "the networks you work from, such as your public address followed by /32",
    );
  }
  if (config.tls === "off") {
    warnings.push(
      `${key("tls")} is off: the notebook password, its cookies and every notebook cross the internet ` +
        "in clear text. Leave it unset (auto) for HTTPS with a trusted certificate",
    );
  }
  if (
    raw.get("digitalocean:token") === undefined &&
    !env.DIGITALOCEAN_TOKEN &&
    !env.DIGITALOCEAN_ACCESS_TOKEN
  ) {
    problems.push(
      "digitalocean:token: is not set; run `npx pulumi config set --secret digitalocean:token <token>` " +
        "with a token from the DigitalOcean control panel (API > Tokens), or export DIGITALOCEAN_TOKEN",
    );
  }
}

/** Settings that mean nothing on the local target. */
function localRules({ config, key }: RuleInput, warnings: string[]): void {
  if (config.domain !== "" || config.manageDns) {
    warnings.push(
      `${key("domain")} and ${key("manageDns")} are ignored with target local: the stack answers on localhost`,
    );
  }
  if (config.dataVolumeId !== "") {
    warnings.push(
      `${key("dataVolumeId")} is ignored with target local: data lives in named Docker volumes`,
    );
  }
}

/** A mistyped key would otherwise be silently ignored and its default used. */
export function unknownKeys(
  raw: RawConfig,
  namespace: string,
  key: (k: string) => string,
  problems: string[],
): void {
  const known = new Set<string>(CONFIG_KEYS);
  for (const full of raw.keys?.() ?? []) {
    if (!full.startsWith(`${namespace}:`)) continue;
    const k = full.slice(namespace.length + 1);
    if (Object.hasOwn(RENAMED_KEYS, k)) {
      problems.push(`${full}: ${RENAMED_KEYS[k](key)}`);
    } else if (!known.has(k)) {
      const hint = nearest(k, [...known]);
      problems.push(
        `${full}: is not a dropstack setting${hint ? `; did you mean ${key(hint)}?` : ""}`,
      );
    }
  }
}
