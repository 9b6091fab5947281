// The data backups on the emulated DigitalOcean (`npm run test:emulated`, part emulated-backup):
// the shipped prod stack (daily backups) with the real plugins makes the Spaces bucket and its
// keys, the backup container built on the droplet backs up on its schedule into the bucket (moto's
// S3 server standing for Spaces, see ../emulator/spaces.ts), `npx dropstack backups` and
// `restore` reach it over the node's SSH, a restore onto a replaced droplet and, the disaster
// case, onto a new stack (new droplet, new volume) that adopted the kept bucket, brings a
// notebook back byte for byte.
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import { resourcePrefix } from "../../config/naming";
import { CADDY_IMAGE } from "../../proxy/caddy";
import type { Emulator } from "../emulator/api";
import { OUTSIDE_ADDRESS } from "../emulator/ports";
import { ensureImage } from "./base-image";
import type { Recipe } from "./base-image";
import { expectEqual, waitUntil } from "./checks";
import type { Check } from "./checks";
import type { DockerEngine } from "./docker-engine";
import { startEmulated } from "./emulated-checks";
import type { Emulated } from "./emulated-checks";
import { dropletUrn, leftAtApi, urlLogsIn } from "./emulated-lifecycle-checks";
import type { Pulumi } from "./pulumi-engine";
import { tail } from "./pulumi-engine";
import { notebookBase } from "./standins";

const ROOT = path.join(__dirname, "..", "..");
const STACK = "prod";
const CONTAINER = `${resourcePrefix("dropstack", STACK)}-backup`;

/**
 * `debian:trixie-slim` as the droplets get it: Debian 13's minimal root with the backup image's
 * packages already in it, and no package sources, since no archive is reachable from a droplet:
 * images/backup/Dockerfile's `apt-get install` finds them installed. Its install from Debian's
 * archive is the backup group's check (backup-image-checks.ts).
 */
const BACKUP_BASE: Recipe = {
  image: "dropstack-test/trixie-slim-backup-tools",
  suite: "trixie",
  include: ["restic", "docker-cli", "jq", "ca-certificates"],
  finish: {
    version: "no-sources-1",
    run: (root) => {
      spawnSync("sh", [
        "-c",
        `rm -f ${root}/etc/apt/sources.list ${root}/etc/apt/sources.list.d/*`,
      ]);
    },
  },
};

/** moto's environment (scripts/moto/build.sh prints its moto_server), built where missing. */
function motoVenv(): string {
  const r = spawnSync(path.join(ROOT, "scripts", "moto", "build.sh"), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/moto/build.sh failed: ${r.stderr.trim()}`);
  return path.dirname(path.dirname(r.stdout.trim()));
}

export async function emulatedBackupChecks(
  pulumi: Pulumi,
  engine: DockerEngine,
  project: string,
  check: Check,
  gate: Check,
  log: (line: string) => void,
): Promise<void> {
  ensureImage(engine, BACKUP_BASE, log);
  const t = await startEmulated(pulumi, engine, project, STACK, {
    spacesVenv: motoVenv(),
    images: [notebookBase(), CADDY_IMAGE, { image: BACKUP_BASE.image, as: "debian:trixie-slim" }],
  });
  const spaces = t.spaces!;
  const b = backupsOf(t, project);
  try {
    await gate(
      "up of the shipped prod stack (daily data backups) makes the bucket and its keys, and builds and runs the backup container on the droplet",
      async () => {
        await t.ok(["stack", "select", "--create"]);
        await t.ok(["config", "set", "dropstack:tls", "internal"]);
        // The emulator's firewall sees connections from OUTSIDE_ADDRESS: prod's SSH is open
        // only to the networks it names.
        await t.ok([
          "config",
          "set",
          "--path",
          "dropstack:sshSourceCidrs[0]",
          `${OUTSIDE_ADDRESS}/32`,
        ]);
        await t.ok([
          "config",
          "set",
          "dropstack:stackfile",
          "test/engine/emulated-backup/notebooks.yml",
        ]);
        await t.ok(["up", "--yes", "--skip-preview"]);
        unknownCalls(t.emu);
      },
    );

    await check(
      "the bucket is in Spaces and restic's repository names it; the node's key reaches that bucket alone",
      async () => {
        const { bucket, repository } = JSON.parse(await t.output("backups"));
        if (!(await listBuckets(spaces)).includes(bucket))
          throw new Error(`no bucket ${bucket} at the emulated Spaces`);
        expectEqual(repository, `s3:http://${spaces}/${bucket}`, "the restic repository");
        const keys = [...t.state.spacesKeys.values()];
        const node = keys.find((k) => k.grants.some((g) => g.permission !== "fullaccess"));
        expectEqual(
          node?.grants,
          [{ bucket, permission: "readwrite" }],
          "the grants of the node's Spaces key",
        );
        expectEqual(b.env().AWS_ACCESS_KEY_ID, node?.accessKey, "the container's key");
        expectEqual(
          keys.filter((k) => k !== node).map((k) => k.grants),
          [[{ bucket: "", permission: "fullaccess" }]],
          "the other key's grants (this machine's, to make the bucket)",
        );
      },
    );

    // Below 96 KB: it reaches the droplet base64-encoded in one argument (at most 128 KiB).
    const notebook = crypto.randomBytes(90_000);
    await check(
      "the schedule backs up at once; a notebook written later is in the next backup; npx dropstack backups lists both",
      async () => {
        await waitUntil("the scheduled first backup", () => b.count() >= 1, b.logs, 180);
        b.writeNotebook(notebook);
        b.onNode(`docker exec ${CONTAINER} dropstack-backup backup`);
        const listed = await b.cli(["backups", "--stack", STACK]);
        const lines = listed.split("\n").filter((l) => /^[0-9a-f]{8}\s/.test(l));
        expectEqual(lines.length, 2, `backups listed:\n${listed}`);
      },
    );

    await check(
      "up reads the last backup's time from the bucket into the backups output",
      async () => {
        await t.ok(["up", "--yes", "--skip-preview"]);
        const { lastBackup } = JSON.parse(await t.output("backups"));
        const age = Date.now() - Date.parse(lastBackup);
        if (!(age >= 0 && age < 10 * 60_000)) throw new Error(`lastBackup ${lastBackup}`);
      },
    );

    await check(
      "a restore onto a replaced droplet (up --replace) puts a deleted notebook back byte for byte",
      async () => {
        const before = t.droplet().id;
        await t.ok(["up", "--yes", "--skip-preview", "--replace", await dropletUrn(t)]);
        if (t.droplet().id === before) throw new Error("the droplet was not replaced");
        b.deleteNotebook();
        await b.cli(["restore", "--stack", STACK, "--at", "latest"]);
        expectEqual(b.notebookHash(), sha256(notebook), "the notebook's SHA-256 after the restore");
        await loginAfterRestore(t);
      },
    );

    const kept = { bucket: "", password: "" };
    await check(
      "destroy, the volume not kept: the bucket and its backups stay; a restore is refused, saying the stack is down",
      async () => {
        kept.bucket = JSON.parse(await t.output("backups")).bucket;
        kept.password = await t.output("backupPassword", true);
        await t.ok(["config", "set", "dropstack:retainDataOnDestroy", "false"]);
        await t.ok(["up", "--yes", "--skip-preview"]);
        await t.ok(["destroy", "--yes"]);
        expectEqual(leftAtApi(t), { droplets: 0, firewalls: 0, keys: 0, volumes: 0 }, "at the API");
        expectEqual(t.state.spacesKeys.size, 0, "Spaces keys left");
        if (!(await listBuckets(spaces)).includes(kept.bucket))
          throw new Error(`the bucket ${kept.bucket} went with the stack`);
        const r = await b.cliRun(["restore", "--stack", STACK, "--at", "latest"]);
        // The node's SSH files outlive destroy; its address answers no more.
        expectEqual(r.status, 2, "the exit status of a restore with the stack down");
        const said = new RegExp(
          "^dropstack: cannot reach the node of stack prod at 127\\.0\\.0\\.\\d+ over SSH; is the " +
            "stack up\\? \\(`npx pulumi up --stack prod` brings it back\\)\\. ssh said: .*refused\n$",
        );
        if (!said.test(r.stderr)) throw new Error(`restore said:\n${r.stderr}`);
      },
    );

    await check(
      "a new stack that names a bucket Spaces does not have fails its up, naming the bucket, with no stack trace",
      async () => {
        const missing = `${kept.bucket}-gone`;
        await t.ok(["config", "set", "dropstack:dataBackupBucket", missing]);
        await t.ok(["config", "set", "--secret", "dropstack:dataBackupPassword", kept.password]);
        const r = await t.pulumi(["up", "--yes", "--skip-preview"]);
        if (r.status === 0) throw new Error("up succeeded with a bucket Spaces does not have");
        const said = `dropstack:dataBackupBucket: Spaces has no bucket ${missing}`;
        if (!r.output.includes(said))
          throw new Error(`expected ${JSON.stringify(said)}:\n${tail(r.output)}`);
        if (/\n\s+at .+:\d+:\d+\)?\n/.test(r.output))
          throw new Error(`a stack trace:\n${tail(r.output)}`);
      },
    );

    await check(
      "a new stack that adopted the kept bucket (new droplet, new volume) backs up nothing before its restore, which brings the notebook back",
      async () => {
        await t.ok(["config", "set", "dropstack:dataBackupBucket", kept.bucket]);
        await t.ok(["config", "set", "--secret", "dropstack:dataBackupPassword", kept.password]);
        const backups = b.count();
        await t.ok(["up", "--yes", "--skip-preview"]);
        expectEqual(b.notebookHash(), "", "the notebook on the new volume before the restore");
        await waitUntil(
          "the container to say it waits for a restore",
          () => b.logs().includes("no backup until the backups in"),
          b.logs,
          120,
        );
        expectEqual(b.count(), backups, "backups in the bucket before the restore");
        const said = await b.cli(["restore", "--stack", STACK, "--at", "latest"]);
        expectEqual(b.notebookHash(), sha256(notebook), `the notebook after the restore:\n${said}`);
        await loginAfterRestore(t);
      },
    );

    await check(
      "destroy leaves the adopted bucket with its backups, and nothing else",
      async () => {
        const backups = b.count();
        await t.ok(["destroy", "--yes"]);
        expectEqual(leftAtApi(t), { droplets: 0, firewalls: 0, keys: 0, volumes: 0 }, "at the API");
        expectEqual(t.state.spacesKeys.size, 0, "Spaces keys left");
        expectEqual(b.count(), backups, "backups in the kept bucket");
      },
    );
  } finally {
    await t.stop();
  }
}

/** The url logs in once the notebook, stopped and started again by the restore, is back. */
async function loginAfterRestore(t: Emulated): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await urlLogsIn(t);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

function unknownCalls(emu: Emulator): void {
  if (emu.unknown.length > 0)
    throw new Error(
      `calls the emulator does not know: ${emu.unknown.map((u) => `${u.method} ${u.path}`).join(", ")}`,
    );
  const refused = emu.proxied.filter((p) => p.status === 403);
  if (refused.length > 0)
    throw new Error(
      `requests the proxy refused: ${refused.map((p) => `${p.method} ${p.host}`).join(", ")}`,
    );
}

/** The buckets at the emulated Spaces (moto answers an unsigned ListBuckets). */
async function listBuckets(spaces: string): Promise<string[]> {
  const xml = await (await fetch(`http://${spaces}/`)).text();
  return [...xml.matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1]);
}

/** A GET's body, synchronously (for waitUntil): Node's fetch in a child process. */
function httpGet(url: string): string {
  const r = spawnSync(
    process.execPath,
    [
      "-e",
      "fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))",
      url,
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  if (r.status !== 0) throw new Error(`GET ${url}: ${r.stderr}`);
  return r.stdout;
}

function sha256(bytes: Buffer | string): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}

/** The stack's backups as seen on its droplet and through the command line. */
function backupsOf(t: Emulated, project: string) {
  const onNode = (script: string) => t.machines.exec(t.droplet(), script);
  /** The notebook's path on the droplet: in the notebooks volume's folder on the data volume. */
  const notebookPath = () => {
    const source = onNode(
      `docker inspect --format '{{range .Mounts}}{{if eq .Destination "/home/jovyan/work"}}` +
        `{{.Source}}{{end}}{{end}}' ${resourcePrefix("dropstack", STACK)}-datascience-1`,
    ).trim();
    if (source === "") throw new Error("no notebooks folder on the droplet");
    return `${source}/emulated-backup-check.ipynb`;
  };
  /**
   * `npx dropstack ARGS` in the project. Not spawnSync: the droplet's port forwarders (ports.ts)
   * run in this process, and would not pass a byte of its SSH while it waits.
   */
  const cliRun = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(project, "bin", "dropstack.js"), ...args], {
        cwd: project,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const out = { stdout: "", stderr: "" };
      child.stdout.on("data", (c) => (out.stdout += c));
      child.stderr.on("data", (c) => (out.stderr += c));
      const timer = setTimeout(() => child.kill(), 10 * 60_000);
      child.on("error", reject);
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, ...out });
      });
    });
  return {
    onNode,
    /** The backup container's environment on the droplet. */
    env: (): Record<string, string> =>
      Object.fromEntries(
        onNode(`docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ${CONTAINER}`)
          .split("\n")
          .filter(Boolean)
          .map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
      ),
    logs: () => onNode(`docker logs ${CONTAINER} 2>&1 | tail -20 || true`),
    /** How many backups the emulated Spaces holds: restic's snapshot files in its bucket. */
    count: () => {
      const listing = httpGet(`http://${t.spaces}/`);
      const buckets = [...listing.matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1]);
      if (buckets.length !== 1) throw new Error(`${buckets.length} buckets at the emulated Spaces`);
      const objects = httpGet(`http://${t.spaces}/${buckets[0]}?list-type=2&prefix=snapshots/`);
      return [...objects.matchAll(/<Key>snapshots\/[0-9a-f]{64}<\/Key>/g)].length;
    },
    writeNotebook: (bytes: Buffer) =>
      onNode(`echo ${bytes.toString("base64")} | base64 -d > '${notebookPath()}'`),
    deleteNotebook: () => onNode(`rm '${notebookPath()}'`),
    /** The notebook's SHA-256 on the droplet, or "" when it is not there. */
    notebookHash: () =>
      onNode(
        `[ -f '${notebookPath()}' ] && sha256sum '${notebookPath()}' | cut -d' ' -f1 || true`,
      ).trim(),
    cliRun,
    /** `npx dropstack ARGS` in the project, failing with what it said unless it succeeds. */
    cli: async (args: string[]) => {
      const r = await cliRun(args);
      if (r.status !== 0)
        throw new Error(
          `dropstack ${args.join(" ")} exited ${r.status}:\n${tail(r.stdout + r.stderr)}`,
        );
      return r.stdout + r.stderr;
    },
  };
}
