// What the backup container does on a stack, worked out from the Stackfile: which folders of the
// data volume it copies, which services it dumps instead (and how to load the dump back), which
// containers to stop while their files are put back. Pure, so tests and `validate` read it as
// `up` sends it.
import type { BackupRetention, BackupSchedule, DropstackConfig } from "../config";
import { backupRegion, SCHEDULE_SECONDS } from "../config";
import { serviceBackup } from "../stackfile";
import type { StackSpec } from "../stackfile";

/** The folder under the stack's data folder where the HTTPS proxy keeps its certificates. */
export const PROXY_FOLDER = ".proxy";

export interface BackupPlan {
  /** Folders under the stack's data folder left out: the proxy's, and the services' not copied. */
  excludes: string[];
  /** Services backed up as the files of their folders. */
  files: string[];
  /** Services dumped by a command in their first container, and loaded back by another. */
  dumps: { service: string; container: string; dump: string; restore: string }[];
  /** Services left out (dropstack.backup: "off"). */
  off: string[];
  /** The containers of the file services: stopped while their files are put back. */
  stop: string[];
}

/** The plan for `spec`'s services, whose containers are named `<prefix>-<service>-<n>`. */
export function backupPlan(spec: StackSpec, prefix: string): BackupPlan {
  const plan: BackupPlan = { excludes: [PROXY_FOLDER], files: [], dumps: [], off: [], stop: [] };
  for (const service of spec.services) {
    const backup = serviceBackup(service);
    const containers = Array.from(
      { length: service.replicas },
      (_, i) => `${prefix}-${service.name}-${i + 1}`,
    );
    if (backup.mode === "files") {
      plan.files.push(service.name);
      plan.stop.push(...containers);
      continue;
    }
    plan.excludes.push(service.name);
    if (backup.mode === "off") plan.off.push(service.name);
    else
      plan.dumps.push({
        service: service.name,
        container: containers[0],
        dump: backup.dump,
        restore: backup.restore,
      });
  }
  return plan;
}

/**
 * The plan as the container's script reads it (DROPSTACK_BACKUP_PLAN): one instruction a line,
 * its fields separated by tabs, the command last (the labels' check keeps commands to one line).
 */
export function planText(plan: BackupPlan): string {
  return [
    ...plan.excludes.map((folder) => `exclude\t${folder}`),
    ...plan.dumps.flatMap((d) => [
      `dump\t${d.service}\t${d.container}\t${d.dump}`,
      `restore\t${d.service}\t${d.container}\t${d.restore}`,
    ]),
    ...plan.stop.map((container) => `stop\t${container}`),
  ].join("\n");
}

/** The container's settings besides the plan and the credentials: schedule and retention. */
export function scheduleEnvironment(
  schedule: Exclude<BackupSchedule, "off">,
  retention: BackupRetention,
): Record<string, string> {
  return {
    DROPSTACK_SCHEDULE_SECONDS: String(SCHEDULE_SECONDS[schedule]),
    DROPSTACK_KEEP_DAILY: String(retention.daily),
    DROPSTACK_KEEP_WEEKLY: String(retention.weekly),
    DROPSTACK_KEEP_MONTHLY: String(retention.monthly),
  };
}

/**
 * What each kind of backup protects, in words, for `validate --stack`: the droplet's own backups
 * and the data backups are easily taken for one another.
 */
export function backupSummary(
  config: Pick<
    DropstackConfig,
    "target" | "dropletBackups" | "dataBackups" | "dataBackupRetention" | "region"
  > &
    Pick<DropstackConfig, "dataBackupRegion" | "retainBackupsOnDestroy" | "dataBackupBucket">,
  spec: StackSpec,
  prefix: string,
): string[] {
  if (config.target !== "digitalocean") return [];
  const droplet = config.dropletBackups
    ? "droplet backups: on, weekly images of the droplet's own disk (operating system, Docker); " +
      "they do not hold the data volume"
    : "droplet backups: off (dropletBackups would image the droplet's own disk, not the data volume)";
  if (config.dataBackups === "off")
    return [
      "data backups: off; nothing on the data volume (notebooks, databases) is backed up. " +
        "Set dataBackups to daily or hourly",
      droplet,
    ];
  const plan = backupPlan(spec, prefix);
  const { daily, weekly, monthly } = config.dataBackupRetention;
  const what = [
    ...plan.files.map((s) => `${s}: its folders, as files`),
    ...plan.dumps.map((d) => `${d.service}: dumped by its dropstack.backup.dump command`),
    ...plan.off.map((s) => `${s}: not backed up (dropstack.backup: off)`),
    "the HTTPS proxy's certificates: left out (Let's Encrypt issues them again)",
  ];
  const where =
    config.dataBackupBucket === ""
      ? `a Spaces bucket in ${backupRegion(config)} ` +
        `(${config.retainBackupsOnDestroy ? "kept" : "deleted"} on destroy)`
      : `the earlier stack's bucket ${config.dataBackupBucket} in ${backupRegion(config)} ` +
        "(never deleted; no backup is made until its backups are restored)";
  return [
    `data backups: ${config.dataBackups}, encrypted by restic, to ${where}, ` +
      `keeping ${daily} daily, ${weekly} weekly and ${monthly} monthly`,
    ...what.map((line) => `  ${line}`),
    droplet,
  ];
}
