// The labels by which a service says how its data is backed up (dropstack:dataBackups): left
// out, or dumped by a command of its own rather than copied as files, which a database writing
// them at the same moment may not be able to read back. Checked at parse time, at the service's
// labels, so `validate` and `up` refuse a mistyped label before anything is made.
import * as YAML from "yaml";
import type { Source } from "./document";
import { itemOf } from "./document";
import { nearest } from "./nearest";
import { splitSecrets } from "./secrets";
import type { ServiceSpec } from "./types";

export const BACKUP_LABEL = "dropstack.backup";
export const DUMP_LABEL = "dropstack.backup.dump";
export const RESTORE_LABEL = "dropstack.backup.restore";
const LABELS = [BACKUP_LABEL, DUMP_LABEL, RESTORE_LABEL];

/** How one service's data is backed up. */
export type ServiceBackup =
  /** Its folders on the data volume, as files. */
  | { mode: "files" }
  /** Not at all. */
  | { mode: "off" }
  /** `dump` run in its first container writes the dump to stdout; `restore` reads it on stdin. */
  | { mode: "dump"; dump: string; restore: string };

/** What the service's labels ask for (its labels already checked by backupLabelProblems). */
export function serviceBackup(service: ServiceSpec): ServiceBackup {
  const labels = service.labels;
  if (labels[BACKUP_LABEL] === "off") return { mode: "off" };
  if (labels[DUMP_LABEL] !== undefined && labels[RESTORE_LABEL] !== undefined)
    return { mode: "dump", dump: labels[DUMP_LABEL], restore: labels[RESTORE_LABEL] };
  return { mode: "files" };
}

/** What is wrong with a service's backup labels: the label, and the message. */
export function backupLabelProblems(service: ServiceSpec): { label: string; message: string }[] {
  const problems: { label: string; message: string }[] = [];
  const say = (label: string, message: string) =>
    problems.push({ label, message: `service "${service.name}": label ${label} ${message}` });
  const labels = service.labels;
  for (const label of Object.keys(labels).filter((l) => l.startsWith(`${BACKUP_LABEL}.`))) {
    if (LABELS.includes(label)) continue;
    const hint = nearest(label, LABELS);
    say(label, `is not a backup label${hint ? `; did you mean ${hint}?` : ""}`);
  }
  const backup = labels[BACKUP_LABEL];
  if (backup !== undefined && backup !== "off")
    say(
      BACKUP_LABEL,
      `is ${JSON.stringify(backup)}; the only value is "off", which leaves the service's data out ` +
        "of backups (without the label, its folders are backed up as files)",
    );
  const [dump, restore] = [labels[DUMP_LABEL], labels[RESTORE_LABEL]];
  if (backup === "off" && (dump !== undefined || restore !== undefined))
    say(BACKUP_LABEL, `is "off", so the dump labels have nothing to do; remove one or the other`);
  for (const [label, command] of [
    [DUMP_LABEL, dump],
    [RESTORE_LABEL, restore],
  ] as const)
    if (command !== undefined) commandProblems(label, command, say);
  if (dump !== undefined && restore === undefined)
    say(DUMP_LABEL, `needs ${RESTORE_LABEL}, the command that reads the dump back on stdin`);
  if (restore !== undefined && dump === undefined)
    say(RESTORE_LABEL, `needs ${DUMP_LABEL}, the command that writes the dump to stdout`);
  return problems;
}

/** An empty command, or one with a secret in it, which would be copied into the backup container. */
function commandProblems(label: string, command: string, say: (l: string, m: string) => void) {
  if (command.trim() === "") say(label, "is empty; give the command, run with sh -c");
  else if (/[\n\t]/.test(command.trim()))
    say(label, "spans lines or holds a tab; write it on one line, joining steps with && or ;");
  else if (splitSecrets(command).some((p) => typeof p !== "string"))
    say(
      label,
      "holds a secret; name the service's own environment variable instead ($$NAME, which the " +
        "command reads inside the service's container), so the secret is not copied elsewhere",
    );
}

/** The backup labels' problems, each at the label in the file. */
export function reportBackupLabels({ root, error }: Source, services: ServiceSpec[]): void {
  for (const service of services) {
    const pair = root.items.find((p) => (p.key as YAML.Scalar).value === service.name);
    if (!pair || !YAML.isMap(pair.value)) continue;
    for (const { label, message } of backupLabelProblems(service))
      error(itemOf(pair.value, "labels", label) ?? pair, message);
  }
}

// Databases whose files, copied while the server writes them, may not be readable back.
const DATABASE_IMAGES = /^(library\/)?(mongo|postgres|mysql|mariadb|redis)(:[^/]*)?$/;

/** Services running a known database whose files would be copied live: warned of with backups on. */
export function liveDatabaseWarnings(services: ServiceSpec[]): string[] {
  return services
    .filter((s) => DATABASE_IMAGES.test(s.image ?? "") && serviceBackup(s).mode === "files")
    .map(
      (s) =>
        `service "${s.name}" runs ${s.image}, whose files, copied while it writes them, it may ` +
        `not be able to read back: give it ${DUMP_LABEL} and ${RESTORE_LABEL} labels (see ` +
        `docs/stackfile.md, Backups), or ${BACKUP_LABEL}: "off"`,
    );
}
