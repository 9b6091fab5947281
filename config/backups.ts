// The data backups' settings: their readers, and what they need of the other settings. Apart
// from readers.ts, as they are one concern: what is backed up, how often, for how long, where.
import { runError } from "../runtime/run-error";
import type { Reader } from "./readers";
import type { Findings, RuleInput } from "./rules";
import type { BackupRetention, BackupSchedule } from "./settings";

/**
 * The regions with Spaces (Standard Storage), from DigitalOcean's availability matrix
 * (https://docs.digitalocean.com/products/spaces/details/availability/): fewer than have
 * droplets, so a stack in nyc1 (say) keeps its backups in another region.
 */
export const SPACES_REGIONS = [
  "ams3",
  "atl1",
  "blr1",
  "fra1",
  "lon1",
  "nyc3",
  "sfo2",
  "sfo3",
  "sgp1",
  "syd1",
  "tor1",
] as const;

/** Seconds between two backups on each schedule: the container's loop, and the age warning. */
export const SCHEDULE_SECONDS: Record<Exclude<BackupSchedule, "off">, number> = {
  daily: 24 * 3600,
  hourly: 3600,
};

/**
 * Keys that were renamed, with what to say: a stack that still sets one would otherwise get the
 * generic "not a dropstack setting".
 */
export const RENAMED_KEYS: Record<string, (key: (k: string) => string) => string> = {
  backups: (key) =>
    `was renamed ${key("dropletBackups")}: it turns on DigitalOcean's droplet backups, which ` +
    "image the droplet's own disk, not the data volume your notebooks and databases live on. " +
    `Set ${key("dropletBackups")} instead, and ${key("dataBackups")} (off, daily or hourly) to ` +
    "back up the data",
};

export const dataBackups: Reader<BackupSchedule> = (value, { fail }) => {
  if (value !== "off" && value !== "daily" && value !== "hourly") {
    fail(value, "is not a backup schedule; use off, daily or hourly");
    return "off";
  }
  return value;
};

const KINDS = ["daily", "weekly", "monthly"] as const;

/** dataBackupRetention: a map of daily, weekly and monthly to whole numbers; unset ones default. */
export const dataBackupRetention: Reader<BackupRetention> = (value, { fail }) => {
  const retention: BackupRetention = { daily: 7, weekly: 4, monthly: 6 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    fail(value, 'is not a retention; use a map like {"daily": 7, "weekly": 4, "monthly": 6}');
    return retention;
  }
  for (const [kind, count] of Object.entries(parsed)) {
    if (!(KINDS as readonly string[]).includes(kind)) {
      fail(kind, "is not a kind of backup to keep; use daily, weekly or monthly");
    } else if (!Number.isInteger(count) || (count as number) < 0 || (count as number) > 1000) {
      fail(
        JSON.stringify(count),
        `is not how many ${kind} backups to keep; use a whole number from 0 to 1000`,
      );
    } else {
      retention[kind as keyof BackupRetention] = count as number;
    }
  }
  if (KINDS.every((kind) => retention[kind] === 0)) {
    fail(value, "keeps no backup at all; keep at least one daily, weekly or monthly");
  }
  return retention;
};

export const dataBackupRegion: Reader<string> = (value, { fail }) => {
  if (value !== "" && !(SPACES_REGIONS as readonly string[]).includes(value)) {
    fail(value, `is not a region with Spaces; use one of ${SPACES_REGIONS.join(", ")}`);
  }
  return value;
};

// Spaces' own rule for bucket names: 3 to 63 lowercase letters, digits and dashes.
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const dataBackupBucket: Reader<string> = (value, { fail }) => {
  if (value !== "" && !BUCKET_NAME.test(value)) {
    fail(
      value,
      "is not a Spaces bucket name; use the bucket of the earlier stack's backups, as its " +
        "`npx pulumi stack output backups` named it (like dropstack-prod-backups-k3x9q2ab)",
    );
  }
  return value;
};

/** The password of an adopted bucket's backups: a secret, never shown, even when misplaced. */
export const dataBackupPassword: Reader<string> = (value, { problem, key, secret }) => {
  if (value !== "" && !secret) {
    problem(
      ` is stored in plain text in the stack's file; set it again as a secret: ` +
        `\`npx pulumi config set --secret ${key.split(":")[1]} <password>\``,
    );
  }
  return value;
};

/** DigitalOcean's Spaces endpoint, as the provider's spaces_endpoint template has it by default. */
export const SPACES_ENDPOINT = "https://{{.Region}}.digitaloceanspaces.com";

/**
 * The Spaces endpoint of `region` from the provider's endpoint template (`{{.Region}}` stands for
 * the region, as the provider's Go template has it), which restic on the node reaches the bucket
 * at, so that it and the provider that makes the bucket always speak to the same place.
 */
export function spacesEndpoint(template: string, region: string): string {
  const url = template.replace(/\{\{\s*\.Region\s*\}\}/g, region.toLowerCase()).replace(/\/+$/, "");
  if (url.includes("{{") || !/^https?:\/\/[^/\s?#]+$/.test(url)) {
    throw runError(
      `digitalocean:spacesEndpoint (or SPACES_ENDPOINT_URL): ${JSON.stringify(template)} is not ` +
        "a Spaces endpoint; use an http or https URL without a path, where {{.Region}} stands " +
        `for the bucket's region, like DigitalOcean's own ${SPACES_ENDPOINT}`,
    );
  }
  return url;
}

/** The Spaces region the backups go to: dataBackupRegion, or the stack's own region. */
export function backupRegion(config: { region: string; dataBackupRegion: string }): string {
  return config.dataBackupRegion === "" ? config.region : config.dataBackupRegion;
}

/** What data backups need of the other settings: a region with Spaces, one node, a droplet. */
export function backupRules({ config, key }: RuleInput, { problems, warnings }: Findings): void {
  adoptionRules({ config, key }, { problems, warnings });
  if (config.dataBackups === "off") return;
  if (config.target === "local") {
    warnings.push(
      `${key("dataBackups")} is ignored with target local: there is no droplet, and the data is ` +
        "in this machine's Docker volumes",
    );
    return;
  }
  if (config.nodes > 1) {
    problems.push(
      `${key("dataBackups")}: ${config.dataBackups} is not available on a cluster ` +
        `(${key("nodes")} ${config.nodes}) yet; set it to off, or use one node`,
    );
  }
  const region = backupRegion(config);
  if (!(SPACES_REGIONS as readonly string[]).includes(region)) {
    problems.push(
      `${key("dataBackups")}: the stack's region ${region} has no Spaces, where backups go; set ` +
        `${key("dataBackupRegion")} to one that has: ${SPACES_REGIONS.join(", ")}`,
    );
  }
}

/** An adopted bucket and its password go together: the backups in it are encrypted with it. */
function adoptionRules(
  { config, key }: Pick<RuleInput, "config" | "key">,
  findings: Findings,
): void {
  const { dataBackupBucket: bucket, dataBackupPassword: password } = config;
  if (bucket !== "" && password === "") {
    findings.problems.push(
      `${key("dataBackupBucket")}: the backups in ${bucket} are encrypted with the password of ` +
        `the stack that made them; set it with \`npx pulumi config set --secret ` +
        `dataBackupPassword <password>\` (that stack's \`npx pulumi stack output backupPassword ` +
        `--show-secrets\`)`,
    );
  }
  if (password !== "" && bucket === "") {
    findings.problems.push(
      `${key("dataBackupPassword")} is the password of the backups in ${key("dataBackupBucket")}, ` +
        "which is not set; set both (to back up into and restore from an earlier stack's bucket), " +
        "or neither (the stack makes its own bucket and password)",
    );
  }
  if (bucket !== "" && config.dataBackups === "off") {
    findings.warnings.push(
      `${key("dataBackupBucket")} is ignored while ${key("dataBackups")} is off: set it to daily ` +
        "or hourly to back up into, and restore from, that bucket",
    );
  }
}
