// The data backups for real: images/backup/dropstack-backup.sh, the script the node's backup
// container runs, with Debian's restic and jq, against moto's S3 server on loopback in Spaces'
// place, and the real Docker engine for the dumps (`docker exec` in a service's container) and
// for stopping and starting a service around a restore (backup-image-checks.ts runs it in the
// built backup image). The "db" service below is a folder dumped with tar, by the labels'
// mechanism; the default stack's own Mongo labels run against FerretDB (scripts/ferretdb/build.sh)
// with the real mongo-tools, when DROPSTACK_MONGO_TOOLS names them (no registry here serves them).
import { spawn, spawnSync } from "child_process";
import type { ChildProcess } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { backupPlan, planText } from "../../backup/plan";
import { parseStackfile } from "../../stackfile";
import { BASE_IMAGE } from "./base-image";
import { expectEqual, tryDocker, waitUntil } from "./checks";
import type { Check } from "./checks";
import { CACHE } from "./docker-engine";
import type { DockerEngine } from "./docker-engine";
import { tail } from "./pulumi-engine";
import type { Pulumi } from "./pulumi-engine";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "images", "backup", "dropstack-backup.sh");

/** The stack the checks back up: a web service's files, and a database dumped in its container. */
const STACKFILE = `web:
  image: ${BASE_IMAGE}
  volumes: ["notebooks:/notebooks"]
db:
  image: ${BASE_IMAGE}
  labels:
    dropstack.backup.dump: tar -C /db -cf - .
    dropstack.backup.restore: rm -rf /db/* && tar -C /db -xf -
`;

/** Why the backup checks cannot run here (a tool missing), or undefined. */
export function backupToolsMissing(): string | undefined {
  for (const tool of ["restic", "jq"])
    if (spawnSync(tool, ["--version"]).error)
      return `${tool} is not installed (Debian: apt-get install ${tool})`;
  const moto = spawnSync(path.join(ROOT, "scripts", "moto", "build.sh"), { encoding: "utf8" });
  if (moto.status !== 0) return `scripts/moto/build.sh failed: ${moto.stderr.trim()}`;
  return undefined;
}

interface Setup {
  env: Record<string, string>;
  data: string;
  notebooks: Record<string, Buffer>;
  db: string;
  web: string;
  moto: ChildProcess;
}

export async function backupChecks(
  engine: DockerEngine,
  prefix: string,
  check: Check,
  notRunHere: string[],
): Promise<void> {
  const missing = backupToolsMissing();
  if (missing !== undefined) {
    if (process.env.CI === "true")
      await check("the backup checks' tools", () => {
        throw new Error(`${missing} (CI=true: a missing tool is a failure)`);
      });
    else notRunHere.push(`the backup checks (restic against moto's S3 server): ${missing}`);
    return;
  }
  const port = await freePort();
  const moto = startMoto(port);
  let setup: Setup | undefined;
  try {
    setup = await startSetup(engine, prefix, port, moto);
    await firstBackupCheck(setup, check);
    await restoreChecks(engine, setup, check);
    await refusalChecks(setup, check);
    await commandLineChecks(setup, check);
    await retentionChecks(setup, check);
    await scheduleChecks(setup, check);
    await adoptionCheck(engine, setup, check);
    await mongoChecks(engine, prefix, port, check, notRunHere);
  } finally {
    // Whatever failed, moto and the containers do not outlive the checks.
    moto.kill();
    for (const s of ["web", "db"]) tryDocker(engine, ["rm", "-f", `${prefix}-backup-${s}-1`]);
    if (setup) fs.rmSync(path.dirname(setup.data), { recursive: true, force: true });
  }
}

/** moto's S3 server on 127.0.0.1:`port` (scripts/moto/build.sh has installed it). */
export function startMoto(port: number): ChildProcess {
  const motoServer = spawnSync(path.join(ROOT, "scripts", "moto", "build.sh"), {
    encoding: "utf8",
  }).stdout.trim();
  return spawn(motoServer, ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
}

/** The two containers, a data folder with notebooks in it, and moto answering. */
async function startSetup(
  engine: DockerEngine,
  prefix: string,
  port: number,
  moto: ChildProcess,
): Promise<Setup> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-backup-"));
  const data = path.join(work, "data");
  const notebooks: Record<string, Buffer> = {
    "analysis.ipynb": crypto.randomBytes(200_000),
    "sub/notes.ipynb": crypto.randomBytes(3_000),
  };
  for (const [name, bytes] of Object.entries(notebooks)) {
    fs.mkdirSync(path.dirname(path.join(data, "web", "notebooks", name)), { recursive: true });
    fs.writeFileSync(path.join(data, "web", "notebooks", name), bytes);
  }
  fs.mkdirSync(path.join(data, ".proxy"));
  fs.writeFileSync(path.join(data, ".proxy", "cert.pem"), "a certificate");
  fs.mkdirSync(path.join(data, "db"));
  fs.writeFileSync(path.join(data, "db", "live.wt"), "files the database is writing");
  const [web, db] = ["web", "db"].map((s) => `${prefix}-backup-${s}-1`);
  for (const c of [web, db]) {
    tryDocker(engine, ["rm", "-f", c]);
    engine.docker(["run", "-d", "--name", c, BASE_IMAGE, "sleep", "infinity"]);
  }
  engine.docker(["exec", db, "sh", "-c", "mkdir -p /db && echo one > /db/a && echo two > /db/b"]);
  const spec = parseStackfile(STACKFILE, "stack.yml").spec;
  const env = {
    RESTIC_REPOSITORY: `s3:http://127.0.0.1:${port}/dropstack-backup-check`,
    RESTIC_PASSWORD: crypto.randomBytes(20).toString("hex"),
    AWS_ACCESS_KEY_ID: "moto",
    AWS_SECRET_ACCESS_KEY: "moto",
    DROPSTACK_DATA: data,
    DROPSTACK_STAGING: path.join(work, "staging"),
    DROPSTACK_BACKUP_PLAN: planText(backupPlan(spec, `${prefix}-backup`)),
    DOCKER_HOST: engine.host,
  };
  await waitUntil(
    "moto's S3 server to answer",
    () => spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0,
    () => `moto_server on 127.0.0.1:${port}`,
    30,
  );
  return { env, data, notebooks, db, web, moto };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** The script run as the container runs it: its status, stdout and stderr. */
function script(setup: Pick<Setup, "env">, args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync("sh", [SCRIPT, ...args], {
    env: { ...process.env, ...setup.env, ...extra },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(setup: Setup, args: string[], extra: Record<string, string> = {}): string {
  const r = script(setup, args, extra);
  if (r.status !== 0)
    throw new Error(`dropstack-backup ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** restic itself, with the checks' repository. */
function restic(
  setup: Pick<Setup, "env">,
  args: string[],
  extra: Record<string, string> = {},
): string {
  const r = spawnSync("restic", args, { env: { ...process.env, ...setup.env, ...extra } });
  if (r.status !== 0) throw new Error(`restic ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
}

async function firstBackupCheck(setup: Setup, check: Check): Promise<void> {
  const { data } = setup;
  await check(
    "dropstack-backup makes the repository and backs up the notebooks and the database's dump made in its own container, not the proxy's certificates or the database's live files",
    () => {
      const said = script(setup, ["backup"]);
      if (said.status !== 0) throw new Error(`backup exited ${said.status}:\n${said.stderr}`);
      if (!/made the repository/.test(said.stderr)) throw new Error(said.stderr);
      const files = restic(setup, ["ls", "latest"]).split("\n");
      for (const name of Object.keys(setup.notebooks))
        if (!files.includes(path.join(data, "web", "notebooks", name)))
          throw new Error(`${name} is not in the backup:\n${files.join("\n")}`);
      if (!files.includes(path.join(setup.env.DROPSTACK_STAGING, "dumps", "db.dump")))
        throw new Error(`no dump of db in the backup:\n${files.join("\n")}`);
      const leaked = files.filter(
        (f) => f.startsWith(path.join(data, ".proxy")) || f.startsWith(path.join(data, "db")),
      );
      expectEqual(leaked, [], "the proxy's and the database's own folders in the backup");
    },
  );
}

async function restoreChecks(engine: DockerEngine, setup: Setup, check: Check): Promise<void> {
  const { data } = setup;
  await check(
    "dropstack-backup restore puts a deleted notebook back byte for byte and the database back from its dump, stopping the web service's container meanwhile",
    () => {
      const notebook = path.join(data, "web", "notebooks", "analysis.ipynb");
      fs.rmSync(notebook);
      fs.writeFileSync(path.join(data, "web", "notebooks", "sub", "notes.ipynb"), "overwritten");
      engine.docker(["exec", setup.db, "sh", "-c", "rm /db/* && echo wrong > /db/c"]);
      const startedBefore = startedAt(engine, setup.web);
      const said = script(setup, ["restore", "latest"]);
      if (said.status !== 0) throw new Error(`restore exited ${said.status}:\n${said.stderr}`);
      for (const [name, bytes] of Object.entries(setup.notebooks))
        if (!fs.readFileSync(path.join(data, "web", "notebooks", name)).equals(bytes))
          throw new Error(`${name} is not as it was backed up`);
      expectEqual(
        engine.docker(["exec", setup.db, "sh", "-c", "cd /db && ls && cat a b"]).split("\n"),
        ["a", "b", "one", "two", ""],
        "the database's folder after the restore",
      );
      expectEqual(running(engine, setup.web), "true", "the web container running after");
      if (startedAt(engine, setup.web) === startedBefore)
        throw new Error("the web container was not stopped and started around the restore");
      if (
        !/loaded db's dump into/.test(said.stderr) ||
        !/restored backup [0-9a-f]{64}/.test(said.stderr)
      )
        throw new Error(`the restore did not say what it did:\n${said.stderr}`);
    },
  );
}

async function refusalChecks(setup: Setup, check: Check): Promise<void> {
  await check("a dump that fails fails the backup: no snapshot is made without it", () => {
    const newest = () =>
      JSON.parse(restic(setup, ["snapshots", "--no-lock", "--json"])).at(-1).id as string;
    const before = newest();
    const plan = setup.env.DROPSTACK_BACKUP_PLAN.replace(
      /^dump\t(\S+)\t(\S+)\t.*$/m,
      "dump\t$1\t$2\techo half a dump; exit 7",
    );
    const r = script(setup, ["backup"], { DROPSTACK_BACKUP_PLAN: plan });
    expectEqual(r.status, 1, "exit status with a failing dump");
    if (!/the dump of db \(in \S+\) failed/.test(r.stderr)) throw new Error(r.stderr);
    expectEqual(newest(), before, "the newest backup after the failed one");
  });
  await check(
    "dropstack-backup snapshots lists each backup with its time and size; a restore point that does not exist is refused with the list",
    () => {
      const lines = ok(setup, ["snapshots"]).trim().split("\n");
      expectEqual(lines.length, 1, "backups listed");
      if (!/^[0-9a-f]{8}\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\t[1-9]\d+$/.test(lines[0]))
        throw new Error(`not ID, time and size: ${JSON.stringify(lines[0])}`);
      const refused = script(setup, ["restore", "0badc0de"]);
      expectEqual(refused.status, 3, "exit status for a missing restore point");
      expectEqual(
        refused.stderr,
        `dropstack-backup: no backup matches 0badc0de; the backups (ID, time UTC, size in bytes):\n${lines[0]}\n`,
        "the refusal",
      );
    },
  );
  await check("dropstack-backup refuses a wrong repository password, and reads nothing", () => {
    const r = script(setup, ["snapshots"], { RESTIC_PASSWORD: "not-the-password" });
    expectEqual(r.status, 1, "exit status with a wrong password");
    expectEqual(r.stdout, "", "what it printed");
    if (
      !/wrong password or no key found/.test(r.stderr) ||
      !/cannot read the backups in s3:/.test(r.stderr)
    )
      throw new Error(`not refused as a wrong password:\n${r.stderr}`);
  });
}

function startedAt(engine: DockerEngine, container: string): string {
  return engine.docker(["inspect", "--format", "{{.State.StartedAt}}", container]).trim();
}

function running(engine: DockerEngine, container: string): string {
  return engine.docker(["inspect", "--format", "{{.State.Running}}", container]).trim();
}

async function retentionChecks(setup: Setup, check: Check): Promise<void> {
  const { env } = setup;
  await check(
    "retention keeps the newest backup of each of the last days asked for and prunes the rest",
    () => {
      // Backups dated in the past, as the container would have made them (same host, tag and
      // paths, so restic groups them together): two on one day, one on each of two others.
      const dumps = path.join(env.DROPSTACK_STAGING, "dumps");
      fs.mkdirSync(dumps, { recursive: true });
      const day = (n: number, hour: string) => {
        const d = new Date(Date.now() - n * 86400_000).toISOString().slice(0, 10);
        return `${d} ${hour}`;
      };
      const times = [
        day(5, "10:00:00"),
        day(4, "10:00:00"),
        day(3, "09:00:00"),
        day(3, "18:00:00"),
      ];
      for (const time of times)
        restic(setup, [
          "backup",
          "--quiet",
          "--tag",
          "dropstack",
          "--host",
          "dropstack",
          "--time",
          time,
          env.DROPSTACK_DATA,
          dumps,
        ]);
      ok(setup, ["backup"], {
        DROPSTACK_KEEP_DAILY: "3",
        DROPSTACK_KEEP_WEEKLY: "0",
        DROPSTACK_KEEP_MONTHLY: "0",
      });
      const kept = JSON.parse(restic(setup, ["snapshots", "--no-lock", "--json"])).map(
        (s: { time: string }) => s.time.slice(0, 10),
      );
      const today = new Date().toISOString().slice(0, 10);
      expectEqual(kept, [day(4, "").trim(), day(3, "").trim(), today], "the days kept");
      // Of the day with two, the later one.
      const third = JSON.parse(restic(setup, ["snapshots", "--no-lock", "--json"]))[1]
        .time as string;
      if (!third.includes("T18:00:00")) throw new Error(`kept ${third}, not the day's last`);
    },
  );
}

async function scheduleChecks(setup: Setup, check: Check): Promise<void> {
  await check(
    "dropstack-backup run backs up at once when the last backup is older than the schedule, and not again within it",
    async () => {
      // The newest backup's ID: retention keeps one a day, so their number need not grow.
      const newest = () =>
        JSON.parse(restic(setup, ["snapshots", "--no-lock", "--json"])).at(-1).id as string;
      const before = newest();
      await runFor(setup, "3600", 4);
      expectEqual(newest(), before, "the newest backup after a run within the hour");
      await runFor(setup, "1", 60, () => newest() !== before);
      if (newest() === before)
        throw new Error(
          "no backup with the last one older than the schedule; it said:\n" +
            fs.readFileSync(path.join(setup.data, "..", "run-1.log"), "utf8"),
        );
    },
  );
}

/**
 * A stack that adopted these backups (dataBackupBucket): its own, empty data folder and staging,
 * the same repository, DROPSTACK_RESTORE_FIRST as the program sets it.
 */
async function adoptionCheck(engine: DockerEngine, setup: Setup, check: Check): Promise<void> {
  await check(
    "a stack that adopted the backups backs up nothing before its restore, which puts the files and the dump back under its own folder, then backs up",
    async () => {
      const work = path.dirname(setup.data);
      const data = path.join(work, "adopted-data");
      fs.mkdirSync(data);
      const adopted = {
        ...setup,
        env: {
          ...setup.env,
          DROPSTACK_DATA: data,
          DROPSTACK_STAGING: path.join(work, "adopted-staging"),
          DROPSTACK_RESTORE_FIRST: "1",
        },
      };
      const count = () =>
        (JSON.parse(restic(setup, ["snapshots", "--no-lock", "--json"])) as unknown[]).length;
      const before = count();
      const log = await runFor(adopted, "1", 8, () => false, "adopted");
      expectEqual(count(), before, "backups made before the restore");
      if (!log().includes("no backup until the backups in"))
        throw new Error(`the schedule did not say why it waits:\n${log()}`);

      engine.docker(["exec", setup.db, "sh", "-c", "rm /db/*"]);
      const said = script(adopted, ["restore", "latest"]);
      if (said.status !== 0) throw new Error(`restore exited ${said.status}:\n${said.stderr}`);
      if (!said.stderr.includes(`the files of ${setup.data}, under ${data}`))
        throw new Error(`the restore did not say where from:\n${said.stderr}`);
      for (const name of Object.keys(setup.notebooks)) {
        const at = (root: string) => path.join(root, "web", "notebooks", name);
        if (
          !fs.existsSync(at(data)) ||
          !fs.readFileSync(at(data)).equals(fs.readFileSync(at(setup.data)))
        )
          throw new Error(`${name} is not under ${data} as it was backed up`);
      }
      expectEqual(
        engine.docker(["exec", setup.db, "sh", "-c", "cd /db && ls && cat a b"]).split("\n"),
        ["a", "b", "one", "two", ""],
        "the database's folder after the restore",
      );
      expectEqual(
        fs.existsSync(path.join(data, ".dropstack-restore")),
        false,
        "restore's own folder left",
      );

      // A backup of the adopted folder (not a count: retention may prune the other stack's).
      const ofAdopted = () =>
        (
          JSON.parse(restic(setup, ["snapshots", "--no-lock", "--json"])) as { paths: string[] }[]
        ).some((snapshot) => snapshot.paths.includes(data));
      const after = await runFor(adopted, "1", 60, ofAdopted, "adopted");
      if (!ofAdopted()) throw new Error(`no backup after the restore; it said:\n${after()}`);
    },
  );
}

/**
 * `dropstack-backup run` for `seconds` at most (or until `done`), then stopped by its PID; what
 * it said, as a function that reads its log.
 */
async function runFor(
  setup: Pick<Setup, "env" | "data">,
  interval: string,
  seconds: number,
  done: () => boolean = () => false,
  name = interval,
): Promise<() => string> {
  const file = path.join(setup.data, "..", `run-${name}.log`);
  const log = fs.openSync(file, "w");
  const child = spawn("sh", [SCRIPT, "run"], {
    env: { ...process.env, ...setup.env, DROPSTACK_SCHEDULE_SECONDS: interval },
    stdio: ["ignore", log, log],
    detached: true,
  });
  let exited: number | null | undefined;
  /** Its exit status when it ended before it was stopped. */
  let early: number | null | undefined;
  child.on("exit", (code) => (exited = code));
  const deadline = Date.now() + seconds * 1000;
  try {
    while (Date.now() < deadline && !done() && exited === undefined)
      await new Promise((r) => setTimeout(r, 1000));
  } finally {
    // Its process group: the script and the restic it may be running, which is waited for (a
    // prune it was running holds the repository's lock until it ends).
    early = exited;
    if (exited === undefined) await stopGroup(child.pid!);
    fs.closeSync(log);
  }
  if (early !== undefined)
    throw new Error(`dropstack-backup run exited (${early}):\n${fs.readFileSync(file, "utf8")}`);
  return () => fs.readFileSync(file, "utf8");
}

/** Stops a process group: SIGTERM, then SIGKILL after 30 s; returns once none of it is left. */
async function stopGroup(pgid: number): Promise<void> {
  /** Sends the group a signal; false when none of it is left. */
  const signal = (s: NodeJS.Signals | 0) => {
    try {
      process.kill(-pgid, s);
      return true;
    } catch {
      return false;
    }
  };
  signal("SIGTERM");
  for (let waited = 0; signal(0); waited += 0.2) {
    if (waited >= 30) signal("SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `npx dropstack backups` and `restore` as users type them, for the shipped prod stack, with an
 * ssh stand-in that runs on this machine what the command line sends to the node: `docker exec
 * <container> dropstack-backup ARGS`, which it runs as the container would.
 */
async function commandLineChecks(setup: Setup, check: Check): Promise<void> {
  const work = path.dirname(setup.data);
  const ssh = path.join(work, "ssh");
  fs.writeFileSync(
    ssh,
    "#!/bin/sh\n" +
      "# ssh OPTIONS... root@HOST docker exec CONTAINER dropstack-backup ARGS...\n" +
      'while [ "$#" -gt 0 ]; do case "$1" in root@*) shift; break ;; *) shift ;; esac; done\n' +
      '[ "$1 $2 $3 $4" = "docker exec dropstack-prod-backup dropstack-backup" ] || exit 99\n' +
      "shift 4\n" +
      `exec sh ${SCRIPT} "$@"\n`,
    { mode: 0o755 },
  );
  fs.mkdirSync(path.join(work, "nodes", "prod"), { recursive: true });
  fs.writeFileSync(path.join(work, "nodes", "prod", "known_hosts"), "192.0.2.1 ssh-ed25519 AAAA\n");
  const dropstack = (...args: string[]) =>
    spawnSync("node", [path.join(ROOT, "bin", "dropstack.js"), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...setup.env,
        DROPSTACK_SSH: ssh,
        DROPSTACK_NODE_FILES: path.join(work, "nodes"),
      },
      encoding: "utf8",
      timeout: 180_000,
    });
  await check(
    "npx dropstack backups and restore --stack prod --at <time> list the backups and put a deleted notebook back, through the node's SSH",
    () => {
      const listed = dropstack("backups", "--stack", "prod");
      if (
        listed.status !== 0 ||
        !/^ID {8}TIME \(UTC\) {12}SIZE\n[0-9a-f]{8} {2}\S+Z {2}[\d.]+ KiB\n$/.test(listed.stdout)
      )
        throw new Error(`backups: ${listed.status}\n${listed.stdout}${listed.stderr}`);
      const notebook = path.join(setup.data, "web", "notebooks", "sub", "notes.ipynb");
      fs.rmSync(notebook);
      const restored = dropstack("restore", "--stack", "prod", "--at", new Date().toISOString());
      if (restored.status !== 0 || !/restored backup [0-9a-f]{64}/.test(restored.stderr))
        throw new Error(`restore: ${restored.status}\n${restored.stderr}`);
      if (!fs.readFileSync(notebook).equals(setup.notebooks["sub/notes.ipynb"]))
        throw new Error("the notebook is not as it was backed up");
      const early = dropstack("restore", "--stack", "prod", "--at", "2000-01-01");
      expectEqual(early.status, 1, "exit status for a time before every backup");
      if (
        !early.stderr.startsWith(
          "dropstack-backup: no backup at or before 2000-01-01T00:00:00Z; the backups (ID, time UTC, size in bytes):\n",
        )
      )
        throw new Error(`not refused as too early:\n${early.stderr}`);
    },
  );
}

/** The mongo-tools the Mongo check runs in the server's container, as the mongo image has them. */
const MONGO_TOOLS = ["mongodump", "mongorestore", "mongoimport", "mongoexport"];

/** Where mongo-tools are looked for when DROPSTACK_MONGO_TOOLS is not set: <version>/bin in it. */
const MONGO_TOOLS_CACHE = path.join(CACHE, "mongo-tools");

/** DROPSTACK_MONGO_TOOLS, else the newest version's bin folder in the cache, else undefined. */
function mongoToolsDir(): string | undefined {
  const given = process.env.DROPSTACK_MONGO_TOOLS;
  if (given !== undefined && given !== "") return given;
  const versions = fs.existsSync(MONGO_TOOLS_CACHE) ? fs.readdirSync(MONGO_TOOLS_CACHE) : [];
  const newest = versions
    .filter((v) => fs.existsSync(path.join(MONGO_TOOLS_CACHE, v, "bin")))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
    .at(-1);
  return newest === undefined ? undefined : path.join(MONGO_TOOLS_CACHE, newest, "bin");
}

/**
 * Why the Mongo check cannot run here, or undefined: `fetched` is set when what is missing is
 * mongo-tools, which no registry here serves (built by hand from the public source, named in
 * DROPSTACK_MONGO_TOOLS), so their absence is named, never failed.
 */
function mongoCheckMissing(): { why: string; fetched: boolean } | undefined {
  const ferretdb = spawnSync(path.join(ROOT, "scripts", "ferretdb", "build.sh"), {
    encoding: "utf8",
  });
  if (ferretdb.status !== 0)
    return { why: `scripts/ferretdb/build.sh failed: ${ferretdb.stderr.trim()}`, fetched: false };
  const dir = mongoToolsDir();
  const how =
    "a folder with mongodump, mongorestore, mongoimport and mongoexport, static binaries built " +
    'by hand from github.com/mongodb/mongo-tools; README, "The real engine"';
  if (dir === undefined)
    return {
      why: `DROPSTACK_MONGO_TOOLS is not set and ${MONGO_TOOLS_CACHE} has no <version>/bin (${how})`,
      fetched: true,
    };
  const absent = MONGO_TOOLS.filter((tool) => {
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (absent.length > 0)
    return {
      why: `${dir} has no ${absent.join(", ")} (${how})`,
      fetched: true,
    };
  return undefined;
}

interface MongoSetup extends Pick<Setup, "env" | "data"> {
  /** The Mongo service's container: FerretDB, with mongo-tools on its PATH. */
  mongo: string;
  /** The label's restore command, as the shipped Stackfile has it. */
  restore: string;
  /** Starts the Mongo service's container, with this root password in its environment. */
  start: (password: string) => Promise<void>;
}

/**
 * The default stack's Mongo labels, taken from the shipped Stackfile, against FerretDB (a server
 * that speaks MongoDB's wire protocol and SCRAM, on SQLite) with the real mongodump and
 * mongorestore in its container, run by the backup script as on the node.
 */
async function mongoChecks(
  engine: DockerEngine,
  prefix: string,
  port: number,
  check: Check,
  notRunHere: string[],
): Promise<void> {
  const what = "the Mongo dump and restore (the default stack's labels against FerretDB)";
  const missing = mongoCheckMissing();
  if (missing !== undefined) {
    if (process.env.CI === "true" && !missing.fetched)
      await check(`${what}: its server`, () => {
        throw new Error(`${missing.why} (CI=true: a missing tool is a failure)`);
      });
    else notRunHere.push(`${what}: ${missing.why}`);
    return;
  }
  const containers = ["mongo", "datascience"].map((s) => `${prefix}-backup-${s}-1`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-backup-mongo-"));
  try {
    const setup = await startMongoSetup(engine, prefix, port, work);
    const seeded = await mongoBackupCheck(engine, setup, check);
    await mongoRestoreCheck(engine, setup, seeded, check);
    await mongoPasswordCheck(setup, check);
    await mongoFreshRestoreCheck(engine, setup, seeded, check);
  } finally {
    for (const c of containers) tryDocker(engine, ["rm", "-f", c]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function startMongoSetup(
  engine: DockerEngine,
  prefix: string,
  port: number,
  work: string,
): Promise<MongoSetup> {
  const stackfile = path.join(ROOT, "stacks", "datascience.yml");
  const spec = parseStackfile(fs.readFileSync(stackfile, "utf8"), stackfile).spec;
  const plan = backupPlan(spec, `${prefix}-backup`);
  const dump = plan.dumps.find((d) => d.service === "mongo");
  if (dump === undefined) throw new Error(`${stackfile} dumps no mongo service`);
  const data = path.join(work, "data");
  fs.mkdirSync(path.join(data, "datascience"), { recursive: true });
  fs.mkdirSync(path.join(data, "mongo"), { recursive: true });
  const ferretdb = path.dirname(
    spawnSync(path.join(ROOT, "scripts", "ferretdb", "build.sh"), {
      encoding: "utf8",
    }).stdout.trim(),
  );
  const tools = mongoToolsDir()!;
  const neighbour = `${prefix}-backup-datascience-1`;
  tryDocker(engine, ["rm", "-f", neighbour]);
  engine.docker(["run", "-d", "--name", neighbour, BASE_IMAGE, "sleep", "infinity"]);
  // FerretDB makes the user only when it first makes the admin database, as the mongo image
  // reads MONGO_INITDB_* only on a first start; SCRAM needs --test-enable-new-auth in v1.
  const server =
    "exec /opt/ferretdb/ferretdb --handler=sqlite --sqlite-url=file:/data/db/ " +
    "--telemetry=disable --test-enable-new-auth --setup-database=admin " +
    '--setup-username="$MONGO_INITDB_ROOT_USERNAME" --setup-password="$MONGO_INITDB_ROOT_PASSWORD"';
  const start = async (password: string) => {
    tryDocker(engine, ["rm", "-f", dump.container]);
    // mongo-tools first on the PATH, where the mongo image has them.
    const env = [
      "PATH=/opt/mongo-tools:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ];
    env.push("MONGO_INITDB_ROOT_USERNAME=root", `MONGO_INITDB_ROOT_PASSWORD=${password}`);
    engine.docker([
      "run",
      "-d",
      "--name",
      dump.container,
      ...env.flatMap((e) => ["-e", e]),
      "-v",
      `${ferretdb}:/opt/ferretdb:ro`,
      "-v",
      `${tools}:/opt/mongo-tools:ro`,
      "-v",
      `${path.join(data, "mongo")}:/data/db`,
      BASE_IMAGE,
      "sh",
      "-c",
      server,
    ]);
    // FerretDB logs to stderr.
    const log = () => {
      const r = spawnSync("docker", ["logs", dump.container], {
        env: { ...process.env, DOCKER_HOST: engine.host },
        encoding: "utf8",
      });
      return r.stdout + r.stderr;
    };
    await waitUntil("FerretDB to listen", () => /Listening on TCP/.test(log()), log, 30);
  };
  await start(crypto.randomBytes(12).toString("hex"));
  const env = {
    RESTIC_REPOSITORY: `s3:http://127.0.0.1:${port}/dropstack-backup-mongo-check`,
    RESTIC_PASSWORD: crypto.randomBytes(20).toString("hex"),
    AWS_ACCESS_KEY_ID: "moto",
    AWS_SECRET_ACCESS_KEY: "moto",
    DROPSTACK_DATA: data,
    DROPSTACK_STAGING: path.join(work, "staging"),
    DROPSTACK_BACKUP_PLAN: planText(plan),
    DOCKER_HOST: engine.host,
  };
  return { env, data, mongo: dump.container, restore: dump.restore, start };
}

/** The root credentials from the container's own environment, as the labels pass them. */
const MONGO_AUTH =
  '--authenticationDatabase admin --username "$MONGO_INITDB_ROOT_USERNAME" ' +
  '--password "$MONGO_INITDB_ROOT_PASSWORD"';

/** A mongo-tools command in the Mongo service's container: its status, stdout and stderr. */
function inMongo(engine: DockerEngine, setup: MongoSetup, command: string, input?: Buffer) {
  const r = spawnSync("docker", ["exec", "-i", setup.mongo, "sh", "-c", command], {
    env: { ...process.env, DOCKER_HOST: engine.host },
    input: input ?? Buffer.alloc(0),
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** `collection` of the notebooks database, loaded from extended JSON lines. */
function mongoImport(
  engine: DockerEngine,
  setup: MongoSetup,
  collection: string,
  lines: string[],
  drop = false,
) {
  const r = inMongo(
    engine,
    setup,
    `mongoimport --quiet ${drop ? "--drop " : ""}${MONGO_AUTH} --db notebooks --collection ${collection}`,
    Buffer.from(lines.join("\n") + "\n"),
  );
  if (r.status !== 0) throw new Error(`mongoimport into ${collection}: ${r.stderr}`);
}

/** `collection`'s documents as canonical extended JSON (every type spelled out), by _id. */
function mongoExport(engine: DockerEngine, setup: MongoSetup, collection: string): string[] {
  const r = inMongo(
    engine,
    setup,
    `mongoexport --quiet ${MONGO_AUTH} --db notebooks --collection ${collection} ` +
      `--jsonFormat=canonical --sort '{"_id":1}'`,
  );
  if (r.status !== 0) throw new Error(`mongoexport of ${collection}: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}

/** What the check seeds: documents of most BSON types, a few large, in _id order. */
function mongoSeed(): Record<string, string[]> {
  const people = Array.from({ length: 300 }, (_, i) =>
    JSON.stringify({
      _id: { $numberInt: String(i + 1) },
      name: crypto.randomBytes(8).toString("hex"),
      score: { $numberDouble: `${i}.5` },
      big: { $numberLong: String(2n ** 53n + BigInt(i)) },
      at: { $date: { $numberLong: String(Date.UTC(2024, 0, 1) + i * 3_600_000) } },
      tags: ["é", { $numberInt: String(i % 7) }, { nested: true }],
      notes: i % 50 === 0 ? crypto.randomBytes(30_000).toString("base64") : null,
    }),
  );
  const runs = ["a", "b", "c"].map((id) =>
    JSON.stringify({ _id: id, oid: { $oid: crypto.randomBytes(12).toString("hex") } }),
  );
  return { people, runs };
}

async function mongoBackupCheck(
  engine: DockerEngine,
  setup: MongoSetup,
  check: Check,
): Promise<Record<string, string[]>> {
  const seeded = mongoSeed();
  await check(
    "the default stack's mongodump label, run by dropstack-backup in the Mongo service's container with its credentials, backs up the seeded database, not its live files",
    () => {
      for (const [collection, lines] of Object.entries(seeded)) {
        mongoImport(engine, setup, collection, lines);
        expectEqual(mongoExport(engine, setup, collection), lines, `${collection} as seeded`);
      }
      const said = script(setup, ["backup"]);
      if (said.status !== 0) throw new Error(`backup exited ${said.status}:\n${said.stderr}`);
      if (!/dumped mongo: \d+ bytes/.test(said.stderr)) throw new Error(said.stderr);
      const files = restic(setup, ["ls", "latest"]).split("\n");
      if (!files.includes(path.join(setup.env.DROPSTACK_STAGING, "dumps", "mongo.dump")))
        throw new Error(`no dump of mongo in the backup:\n${files.join("\n")}`);
      const live = files.filter((f) => f.startsWith(path.join(setup.data, "mongo")));
      expectEqual(live, [], "the database's own files in the backup");
    },
  );
  return seeded;
}

async function mongoRestoreCheck(
  engine: DockerEngine,
  setup: MongoSetup,
  seeded: Record<string, string[]>,
  check: Check,
): Promise<void> {
  await check(
    "the default stack's mongorestore label, run by dropstack-backup restore, puts the seeded documents back exactly over damaged collections",
    () => {
      mongoImport(engine, setup, "people", ['{"_id":1,"damaged":true}'], true);
      mongoImport(engine, setup, "runs", ['{"_id":"d","added":"after the backup"}']);
      const damaged = Object.keys(seeded).map((c) => mongoExport(engine, setup, c));
      expectEqual(
        damaged.map((lines) => lines.length),
        [1, seeded.runs.length + 1],
        "documents in people and runs once damaged",
      );
      // The label as shipped: Mongo's users (admin.system.*) are left out, which FerretDB could
      // not load either (it has no admin.system.version for mongorestore to check).
      const said = script(setup, ["restore", "latest"]);
      if (said.status !== 0) throw new Error(`restore exited ${said.status}:\n${said.stderr}`);
      if (!said.stderr.includes(`loaded mongo's dump into ${setup.mongo}`))
        throw new Error(`the restore did not say it loaded mongo's dump:\n${said.stderr}`);
      for (const [collection, lines] of Object.entries(seeded))
        expectEqual(
          mongoExport(engine, setup, collection),
          lines,
          `${collection} after the restore`,
        );
    },
  );
}

async function mongoPasswordCheck(setup: MongoSetup, check: Check): Promise<void> {
  await check(
    "a Mongo root password that no longer matches the server's fails the backup, naming the service, and makes no snapshot",
    async () => {
      const newest = () =>
        JSON.parse(restic(setup, ["snapshots", "--no-lock", "--json"])).at(-1).id as string;
      const before = newest();
      // The same data with another password in the environment: the server keeps the user it
      // made first, as Mongo does when MONGO_INITDB_ROOT_PASSWORD changes after the first start.
      await setup.start("not-the-password");
      const r = script(setup, ["backup"]);
      expectEqual(r.status, 1, "exit status with a wrong Mongo password");
      if (!r.stderr.includes(`dropstack-backup: the dump of mongo (in ${setup.mongo}) failed`))
        throw new Error(`not refused naming mongo:\n${r.stderr}`);
      expectEqual(newest(), before, "the newest backup after the refused one");
    },
  );
}

/**
 * The disaster case: the Mongo service on a fresh, empty data folder (a new volume), with a new
 * root password (a new stack generates its own), gets the documents back from the backup made
 * with the old one, and keeps its own root user: the label leaves Mongo's users out.
 */
async function mongoFreshRestoreCheck(
  engine: DockerEngine,
  setup: MongoSetup,
  seeded: Record<string, string[]>,
  check: Check,
): Promise<void> {
  await check(
    "a fresh Mongo (empty data folder, new root password) gets the seeded documents back from the backup made with the old password, and keeps its new password",
    async () => {
      tryDocker(engine, ["rm", "-f", setup.mongo]);
      const folder = path.join(setup.data, "mongo");
      fs.rmSync(folder, { recursive: true, force: true });
      fs.mkdirSync(folder);
      await setup.start(crypto.randomBytes(12).toString("hex"));
      const empty = inMongo(
        engine,
        setup,
        `mongoexport --quiet ${MONGO_AUTH} --db notebooks --collection people`,
      );
      if (empty.status !== 0 || empty.stdout.trim() !== "")
        throw new Error(
          `the fresh server is not empty, or refuses its password: ${empty.stderr}${empty.stdout}`,
        );
      const said = script(setup, ["restore", "latest"]);
      if (said.status !== 0) throw new Error(`restore exited ${said.status}:\n${said.stderr}`);
      // Read back with the new password: the restore left the fresh server's root user alone.
      for (const [collection, lines] of Object.entries(seeded))
        expectEqual(
          mongoExport(engine, setup, collection),
          lines,
          `${collection} on the fresh server after the restore`,
        );
    },
  );
}

/**
 * The engine's own run of the program refuses a stack that still sets the old key `backups`,
 * naming the keys that replace it, before anything is made (part of the engine group).
 */
export async function renamedKeyCheck(pulumi: Pulumi, project: string, check: Check) {
  await check(
    "a stack that still sets backups stops preview, naming dropletBackups and dataBackups",
    () => {
      pulumi.initStack(
        "old-backups",
        { "dropstack:target": "local", "dropstack:backups": "true" },
        project,
      );
      const r = pulumi.run(["preview", "--stack", "old-backups"], project);
      const all = r.stdout + r.stderr;
      const expected =
        "- dropstack:backups: was renamed dropstack:dropletBackups: it turns on DigitalOcean's droplet backups";
      if (
        r.status === 0 ||
        !all.includes(expected) ||
        !all.includes("dropstack:dataBackups (off, daily or hourly)")
      )
        throw new Error(`expected ${JSON.stringify(expected)}:\n${tail(all)}`);
      if (/\n\s+at .+:\d+:\d+\)?\n/.test(all)) throw new Error(`a stack trace:\n${tail(all)}`);
    },
  );
}
