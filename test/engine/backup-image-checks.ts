// The backup image itself (images/backup): built from its Dockerfile as the node builds it, with
// Debian's packages from Debian's archive, on a stand-in for `debian:trixie-slim` (a debootstrap
// minbase root of trixie: no registry is reachable here). Then a backup and a restore run in it,
// as the node's backup container runs them: its own restic and Docker CLI, the data folder and
// the engine's socket mounted, moto's S3 server in Spaces' place. backup-checks.ts runs the same
// script with the host's restic for the rest (retention, refusals, the schedule, the commands).
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupPlan, planText } from "../../backup/plan";
import { parseStackfile } from "../../stackfile";
import { BASE_IMAGE, ensureImage } from "./base-image";
import type { Recipe } from "./base-image";
import { freePort, startMoto } from "./backup-checks";
import { expectEqual, tryDocker, waitUntil } from "./checks";
import type { Check } from "./checks";
import type { DockerEngine } from "./docker-engine";

const CONTEXT = path.join(__dirname, "..", "..", "images", "backup");
const IMAGE = "dropstack-test/backup";

/** The Dockerfile's FROM, made here: Debian 13's minimal root, as the slim image is. */
const TRIXIE_SLIM: Recipe = { image: "debian:trixie-slim", suite: "trixie", include: [] };

/** The restic the image must carry: dropstack-backup.sh uses `restic ... --json` of 0.16 on. */
const RESTIC = /^restic 0\.(1[6-9]|[2-9]\d)\.\d+ /;

export async function backupImageChecks(
  engine: DockerEngine,
  prefix: string,
  check: Check,
  log: (line: string) => void,
): Promise<void> {
  const socket = engine.host.startsWith("unix://") ? engine.host.slice("unix://".length) : "";
  await check(
    "images/backup builds from its Dockerfile with Debian's restic, Docker CLI and jq",
    () => {
      ensureImage(engine, TRIXIE_SLIM, log);
      // The classic builder, as the node's build (components/backups.ts).
      const build = spawnSync("docker", ["build", "-t", IMAGE, CONTEXT], {
        env: { ...process.env, DOCKER_HOST: engine.host, DOCKER_BUILDKIT: "0" },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      });
      if (build.status !== 0)
        throw new Error(
          `docker build of images/backup failed:\n${(build.stdout + build.stderr).slice(-3000)}`,
        );
      const version = engine.docker(["run", "--rm", "--entrypoint", "restic", IMAGE, "version"]);
      if (!RESTIC.test(version)) throw new Error(`the image's restic: ${version}`);
      engine.docker([
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        IMAGE,
        "-c",
        "docker --version && jq --version",
      ]);
    },
  );
  if (socket === "") return;

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-backup-image-"));
  const port = await freePort();
  const moto = startMoto(port);
  const [web, db] = ["web", "db"].map((s) => `${prefix}-backup-image-${s}-1`);
  try {
    await check(
      "the built image backs up a data folder and a service's dump, and restores both, byte for byte",
      async () => {
        await waitUntil(
          "moto's S3 server to answer",
          () => portAnswers(port),
          () => `moto_server on 127.0.0.1:${port}`,
          30,
        );
        // The bucket is there before the first backup, as `up` makes it (restic 0.18 retries a
        // missing bucket for minutes, where 0.14 made it).
        const bucket = await fetch(`http://127.0.0.1:${port}/dropstack-backup-image`, {
          method: "PUT",
        });
        expectEqual(bucket.status, 200, "moto's answer to making the bucket");
        const data = path.join(work, "data");
        const notebook = path.join(data, "web", "notebooks", "analysis.ipynb");
        const bytes = crypto.randomBytes(100_000);
        fs.mkdirSync(path.dirname(notebook), { recursive: true });
        fs.writeFileSync(notebook, bytes);
        // The web service's container, which a restore stops and starts around its files.
        for (const c of [web, db]) {
          tryDocker(engine, ["rm", "-f", c]);
          engine.docker(["run", "-d", "--name", c, BASE_IMAGE, "sleep", "infinity"]);
        }
        engine.docker(["exec", db, "sh", "-c", "mkdir /db && echo one > /db/a"]);
        const stackfile = `web:\n  image: ${BASE_IMAGE}\n  volumes: ["notebooks:/notebooks"]\ndb:\n  image: ${BASE_IMAGE}\n  labels:\n    dropstack.backup.dump: tar -C /db -cf - .\n    dropstack.backup.restore: rm -rf /db/* && tar -C /db -xf -\n`;
        const plan = planText(
          backupPlan(parseStackfile(stackfile, "stack.yml").spec, `${prefix}-backup-image`),
        );
        // The node's container: its mounts and its environment (components/backups.ts), and the
        // host's network for moto on loopback.
        const run = (command: string) =>
          engine.docker([
            ...["run", "--rm", "--network", "host"],
            ...["-v", `${data}:${data}`, "-v", `${work}/staging:/var/cache/dropstack-backup`],
            ...["-v", `${socket}:/var/run/docker.sock`],
            ...["-e", `RESTIC_REPOSITORY=s3:http://127.0.0.1:${port}/dropstack-backup-image`],
            ...["-e", "RESTIC_PASSWORD=image-check", "-e", "AWS_ACCESS_KEY_ID=moto"],
            ...["-e", "AWS_SECRET_ACCESS_KEY=moto", "-e", `DROPSTACK_DATA=${data}`],
            ...["-e", `DROPSTACK_BACKUP_PLAN=${plan}`],
            ...[IMAGE, command, ...(command === "restore" ? ["latest"] : [])],
          ]);
        run("backup");
        fs.rmSync(notebook);
        engine.docker(["exec", db, "sh", "-c", "rm /db/a && echo wrong > /db/b"]);
        run("restore");
        if (!fs.readFileSync(notebook).equals(bytes))
          throw new Error("the notebook is not as it was backed up");
        expectEqual(
          engine.docker(["exec", db, "sh", "-c", "cd /db && ls && cat a"]).split("\n"),
          ["a", "one", ""],
          "the database's folder after the restore",
        );
      },
    );
  } finally {
    moto.kill();
    for (const c of [web, db]) tryDocker(engine, ["rm", "-f", c]);
    // The restore wrote as root: the folder goes with root's rights too (this runs as root).
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function portAnswers(port: number): boolean {
  return spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0;
}
