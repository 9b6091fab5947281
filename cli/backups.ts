// dropstack backups and restore: the stack's data backups, listed and put back, by running the
// backup container's own script on the node (images/backup/dropstack-backup.sh) over the node's
// pinned SSH. Nothing secret passes through here: the container holds the repository's password
// and key; this machine needs only the SSH files every `pulumi preview` and `up` write.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import type { DropstackConfig } from "../config";
import { resourcePrefix } from "../config/naming";
import { sshOptions } from "../components/ssh-options";
import { CliError } from "./errors";
import { PROJECT_DIR, stackConfig, USAGE } from "./args";

const BACKUPS_OPTIONS = { stack: { type: "string" } } as const;
const RESTORE_OPTIONS = { stack: { type: "string" }, at: { type: "string" } } as const;

/** How to run a command in the stack's backup container, and what to call things in messages. */
interface BackupAccess {
  stack: string;
  ip: string;
  container: string;
  sshArgs: string[];
}

export async function backups(
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values } = parseArgs({ args, options: BACKUPS_OPTIONS });
  const access = await backupAccess("backups", values.stack);
  return listBackups(access, out, err);
}

export async function restore(
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values } = parseArgs({ args, options: RESTORE_OPTIONS });
  const access = await backupAccess("restore", values.stack);
  // Checked before the node is asked anything: a mistyped point should not wait for SSH.
  const point = values.at === undefined ? undefined : restorePoint(values.at, access.stack);
  if (point === undefined) {
    const code = listBackups(access, out, err);
    if (code === 0)
      err.write(
        `dropstack: nothing restored; choose a backup: dropstack restore --stack ${access.stack} ` +
          "--at <ID or time>, or --at latest\n",
      );
    return code;
  }
  const r = onBackupContainer(access, ["restore", point]);
  // 3: no such restore point; the script's own words list the backups there are.
  if (r.status !== 0 && r.status !== 3) throw new CliError(containerProblem(access, r));
  err.write(r.stderr);
  out.write(r.stdout);
  return r.status === 0 ? 0 : 1;
}

/** The backups, as a table with sizes people read. */
function listBackups(
  access: BackupAccess,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): number {
  const r = onBackupContainer(access, ["snapshots"]);
  if (r.status !== 0) throw new CliError(containerProblem(access, r));
  err.write(r.stderr);
  const rows = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\t"));
  if (rows.length === 0) {
    out.write(`stack ${access.stack} has no backups yet\n`);
    return 0;
  }
  out.write("ID        TIME (UTC)            SIZE\n");
  for (const [id, time, bytes] of rows)
    out.write(`${id.padEnd(10)}${time.padEnd(22)}${humanSize(Number(bytes))}\n`);
  return 0;
}

/**
 * What `--at` names, as the container's script takes it: `latest`, an ID (or its start), or
 * `before:<epoch seconds>` for a time (UTC unless it says otherwise): the last backup at or
 * before it.
 */
export function restorePoint(at: string, stack: string): string {
  if (at === "latest" || /^[0-9a-f]{8,64}$/.test(at)) return at;
  const time = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)?)?$/.test(at)
    ? Date.parse(/T.*(Z|[+-]\d\d:\d\d)$/.test(at) || !at.includes("T") ? at : `${at}Z`)
    : NaN;
  if (Number.isNaN(time))
    throw new CliError(
      `--at ${JSON.stringify(at)} is not a backup ID or a time; use an ID that ` +
        `\`dropstack backups --stack ${stack}\` lists (like 4c364596), a time like ` +
        "2026-12-05T06:00Z (the last backup at or before it), or latest",
    );
  return `before:${Math.floor(time / 1000)}`;
}

/** Where the stack's backup container is, from its config and the SSH files `up` wrote. */
async function backupAccess(command: string, stack: string | undefined): Promise<BackupAccess> {
  if (stack === undefined) throw new CliError(`${command} needs --stack NAME\n${USAGE}`);
  const { readProjectName, readStackConfig } = await stackConfig();
  noBackupsProblem(stack, readStackConfig(PROJECT_DIR, stack));
  // DROPSTACK_NODE_FILES: where the stacks' SSH files are, for tests; the project's .dropstack/.
  const dir = path.join(
    process.env.DROPSTACK_NODE_FILES ?? path.join(PROJECT_DIR, ".dropstack"),
    stack,
  );
  const knownHosts = path.join(dir, "known_hosts");
  if (!fs.existsSync(knownHosts))
    throw new CliError(
      `stack ${stack} has no node on this machine's record (${path.relative(process.cwd(), knownHosts)} ` +
        `is missing): is it up? \`npx pulumi preview --stack ${stack}\` writes the node's SSH files ` +
        "from the stack's state",
    );
  const ip = fs.readFileSync(knownHosts, "utf8").split(/\s+/)[0];
  return {
    stack,
    ip,
    container: `${resourcePrefix(readProjectName(PROJECT_DIR), stack)}-backup`,
    sshArgs: [...sshOptions(path.join(dir, "id_ed25519"), knownHosts), `root@${ip}`],
  };
}

/** A stack that cannot have backups to list or restore, said before anything is asked. */
function noBackupsProblem(stack: string, config: DropstackConfig): void {
  if (config.target !== "digitalocean")
    throw new CliError(`stack ${stack} has no backups: dropstack:target is ${config.target}`);
  if (config.dataBackups === "off")
    throw new CliError(
      `stack ${stack} has no data backups: dropstack:dataBackups is off (set it to daily or ` +
        "hourly, then `npx pulumi up`)",
    );
}

/** The container's script, run on the node over SSH (`DROPSTACK_SSH` replaces ssh in tests). */
function onBackupContainer(access: BackupAccess, args: string[]) {
  const ssh = process.env.DROPSTACK_SSH ?? "ssh";
  const r = spawnSync(
    ssh,
    [...access.sshArgs, "docker", "exec", access.container, "dropstack-backup", ...args],
    { encoding: "utf8", timeout: 6 * 3600 * 1000, env: process.env },
  );
  if (r.error) throw new CliError(`cannot run ${ssh}: ${r.error.message}`);
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Why the container could not answer, in words: the node down, the container gone, or its own. */
function containerProblem(access: BackupAccess, r: { status: number; stderr: string }): string {
  const said = r.stderr.trim().split("\n").slice(-3).join("\n");
  if (r.status === 255)
    return (
      `cannot reach the node of stack ${access.stack} at ${access.ip} over SSH; is the stack up? ` +
      `(\`npx pulumi up --stack ${access.stack}\` brings it back). ssh said: ${said}`
    );
  if (/No such container|is not running/.test(r.stderr))
    return (
      `the backup container ${access.container} is not running on the node of stack ` +
      `${access.stack}; is the stack up with dataBackups on? Run \`npx pulumi up --stack ` +
      `${access.stack}\`. Docker said: ${said}`
    );
  return `the backup container failed (exit status ${r.status}): ${said}`;
}

/** Bytes as people read them: 1.5 GiB. */
export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}
