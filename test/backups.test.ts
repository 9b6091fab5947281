// The data backups under the mock engine: the bucket, its keys, the repository password and the
// backup container, what they are given, and what they leave alone.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { missingBucketError } from "../components/backups";
import { FAKE_IP, ProgramRun, runProgram } from "./harness";

const BUCKET = "digitalocean:index/spacesBucket:SpacesBucket";
const KEY = "digitalocean:index/spacesKey:SpacesKey";
const CONTAINER = "docker:index/container:Container";
const DROPLET = "digitalocean:index/droplet:Droplet";

const withBackups = (extra: Record<string, string> = {}) =>
  runProgram({ config: { "dropstack:dataBackups": "daily", ...extra } });

/** The container's environment as a map (its values resolved). */
function envOf(run: ProgramRun): Record<string, string> {
  const envs: string[] = run.find(CONTAINER, "backups-container").inputs.envs;
  return Object.fromEntries(
    envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

describe("data backups on (dataBackups daily)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await withBackups();
  });

  test("make a private bucket in the stack's region, kept on destroy, through a provider with a Spaces key of its own", () => {
    const bucket = run.find(BUCKET, "backups-bucket");
    expect(bucket.inputs).toEqual({
      name: "dropstack-test-backups-k3x9q2ab",
      region: "nyc3",
      acl: "private",
      forceDestroy: false,
    });
    expect(bucket.retainOnDelete).toBe(true);
    expect(bucket.provider).toBe("backups-spaces");
    const provider = run.find("pulumi:providers:digitalocean", "backups-spaces");
    expect(provider.inputs).toMatchObject({
      token: "test-token",
      spacesAccessId: "ACCESS-backups-admin-key",
      spacesSecretKey: "SECRET-backups-admin-key",
    });
    expect(run.find(KEY, "backups-admin-key").inputs.grants).toEqual([
      { bucket: "", permission: "fullaccess" },
    ]);
  });

  test("give the node a key that reaches that bucket alone, read and write", () => {
    expect(run.find(KEY, "backups-key").inputs).toEqual({
      name: "dropstack-test-backups",
      grants: [{ bucket: "dropstack-test-backups-k3x9q2ab", permission: "readwrite" }],
    });
  });

  test("run the backup container on the node with the repository, its password and the key, all secret", () => {
    const container = run.find(CONTAINER, "backups-container");
    expect(container.provider).toBe("node-docker");
    expect(container.inputs.name).toBe("dropstack-test-backup");
    expect(container.secretInputs).toContain("envs");
    expect(container.replacementTrigger).toBe("1001");
    // Kept on the node: deleted by name after a replaced droplet's new one is built, it would
    // be the new droplet's, in use, and the up would fail (the emulated backup checks).
    const image = run.find("docker:index/remoteImage:RemoteImage", "backups-image");
    expect([image.replacementTrigger, image.inputs.keepLocally]).toEqual(["1001", true]);
    // Its old versions are removed on the node once the container runs the new one.
    const prune = run.find("command:local:Command", "backups-image-prune");
    expect(prune.inputs.create.split(" ").slice(2).join(":")).toBe(image.inputs.name);
    expect(prune.inputs.environment.DROPSTACK_HOST).toBe(FAKE_IP);
    expect(prune.dependsOn).toContain("backups-container");
    expect(envOf(run)).toMatchObject({
      RESTIC_REPOSITORY: "s3:https://nyc3.digitaloceanspaces.com/dropstack-test-backups-k3x9q2ab",
      RESTIC_PASSWORD: "GeneratedSecret-backups-password-" + "x".repeat(40),
      AWS_ACCESS_KEY_ID: "ACCESS-backups-key",
      AWS_SECRET_ACCESS_KEY: "SECRET-backups-key",
      DROPSTACK_SCHEDULE_SECONDS: "86400",
      DROPSTACK_KEEP_DAILY: "7",
      DROPSTACK_KEEP_WEEKLY: "4",
      DROPSTACK_KEEP_MONTHLY: "6",
      DROPSTACK_DATA: "/mnt/data/test",
    });
    expect(container.inputs.volumes).toEqual([
      { hostPath: "/mnt/data/test", containerPath: "/mnt/data/test" },
      {
        hostPath: "/var/lib/dropstack/backup/dropstack-test",
        containerPath: "/var/lib/dropstack/backup/dropstack-test",
      },
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
    ]);
  });

  test("copy the notebooks as files, dump Mongo with its own tools, and skip the proxy's certificates", () => {
    const plan = envOf(run).DROPSTACK_BACKUP_PLAN.split("\n");
    expect(plan).toEqual([
      "exclude\t.proxy",
      "exclude\tmongo",
      expect.stringMatching(
        /^dump\tmongo\tdropstack-test-mongo-1\tmongodump --quiet --archive --gzip /,
      ),
      expect.stringMatching(
        /^restore\tmongo\tdropstack-test-mongo-1\tmongorestore --quiet --archive --gzip --drop /,
      ),
      "stop\tdropstack-test-datascience-1",
    ]);
    // The dump reads Mongo's credentials inside Mongo's container: no password in the plan.
    expect(plan[2]).toContain('--password "$MONGO_INITDB_ROOT_PASSWORD"');
    // A restore leaves Mongo's users as the stack made them: onto a new stack (a new generated
    // password), the dump's users would bring the old password back and lock the notebook out.
    expect(plan[3]).toContain('--nsExclude "admin.system.*"');
  });

  test("start the container after the services whose data it backs up", () => {
    expect(run.find(CONTAINER, "backups-container").dependsOn).toEqual(
      expect.arrayContaining(["stack-datascience-1", "stack-mongo-1"]),
    );
  });

  test("output where the backups are and, as a secret, the password that reads them", () => {
    expect(run.outputs.backups).toEqual({
      schedule: "daily",
      region: "nyc3",
      bucket: "dropstack-test-backups-k3x9q2ab",
      repository: "s3:https://nyc3.digitaloceanspaces.com/dropstack-test-backups-k3x9q2ab",
      keptOnDestroy: true,
      lastBackup: "none yet",
    });
    expect(run.secrets).toContain("backupPassword");
    expect(run.secrets).not.toContain("backups");
  });

  test("state Spaces' fee apart from the droplet's price", () => {
    expect(run.outputs.monthlyCost).toMatchObject({
      usdPerMonth: 18,
      spaces: { usdPerMonth: 5, includedGiB: 250, perExtraGiB: 0.02 },
    });
  });
});

describe("data backups", () => {
  test("change nothing of the droplet when turned on: no replacement, no new user_data", async () => {
    const off = await runProgram({});
    const on = await withBackups();
    expect(on.find(DROPLET).inputs).toEqual(off.find(DROPLET).inputs);
    expect(off.all(BUCKET)).toEqual([]);
    expect(off.all(KEY)).toEqual([]);
    expect(off.outputs).not.toHaveProperty("backups");
    expect(off.outputs.monthlyCost).not.toHaveProperty("spaces");
  });

  test("go to dataBackupRegion, every hour, with the retention asked for", async () => {
    const run = await withBackups({
      "dropstack:region": "nyc1",
      "dropstack:dataBackups": "hourly",
      "dropstack:dataBackupRegion": "ams3",
      "dropstack:dataBackupRetention": '{"daily": 3, "weekly": 0}',
    });
    expect(run.find(BUCKET).inputs.region).toBe("ams3");
    expect(envOf(run)).toMatchObject({
      RESTIC_REPOSITORY: "s3:https://ams3.digitaloceanspaces.com/dropstack-test-backups-k3x9q2ab",
      DROPSTACK_SCHEDULE_SECONDS: "3600",
      DROPSTACK_KEEP_DAILY: "3",
      DROPSTACK_KEEP_WEEKLY: "0",
      DROPSTACK_KEEP_MONTHLY: "6",
    });
  });

  test("delete the bucket and its backups on destroy when retainBackupsOnDestroy is false", async () => {
    const run = await withBackups({ "dropstack:retainBackupsOnDestroy": "false" });
    expect(run.find(BUCKET).retainOnDelete).toBe(false);
    expect(run.find(BUCKET).inputs.forceDestroy).toBe(true);
  });

  test("warn of a database copied as live files, and leave out a service labelled off", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-backups-"));
    const file = path.join(dir, "stack.yml");
    fs.writeFileSync(
      file,
      [
        "web:",
        "  image: nginx",
        "  ports: ['80:80']",
        "  volumes: ['site:/usr/share/nginx/html']",
        "db:",
        "  image: postgres:16",
        "cache:",
        "  image: redis:7",
        "  labels:",
        '    dropstack.backup: "off"',
        "",
      ].join("\n"),
    );
    const run = await withBackups({ "dropstack:stackfile": file });
    expect(run.warnings).toContain(
      'service "db" runs postgres:16, whose files, copied while it writes them, it may not be able ' +
        "to read back: give it dropstack.backup.dump and dropstack.backup.restore labels (see " +
        'docs/stackfile.md, Backups), or dropstack.backup: "off"',
    );
    expect(run.warnings.filter((w) => w.includes('"cache"'))).toEqual([]);
    expect(envOf(run).DROPSTACK_BACKUP_PLAN.split("\n")).toEqual([
      "exclude\t.proxy",
      "exclude\tcache",
      "stop\tdropstack-test-web-1",
      "stop\tdropstack-test-db-1",
    ]);
  });

  test("preview the same resources as up", async () => {
    const run = await runProgram({ preview: true, config: { "dropstack:dataBackups": "daily" } });
    expect(run.find(BUCKET).inputs).toMatchObject({ region: "nyc3", acl: "private" });
    expect(
      run
        .all(KEY)
        .map((k) => k.name)
        .sort(),
    ).toEqual(["backups-admin-key", "backups-key"]);
    expect(run.all(CONTAINER).map((c) => c.name)).toContain("backups-container");
  });

  test("are nothing on the local target", async () => {
    const run = await runProgram({
      config: { "dropstack:target": "local", "dropstack:dataBackups": "daily" },
    });
    expect(run.all(BUCKET)).toEqual([]);
    expect(run.all(CONTAINER).map((c) => c.name)).not.toContain("backups-container");
  });
});

describe("backups into an earlier stack's kept bucket (dataBackupBucket)", () => {
  const GET_BUCKET = "digitalocean:index/getSpacesBucket:getSpacesBucket";
  let run: ProgramRun;
  let asked: any[];
  beforeAll(async () => {
    asked = [];
    run = await runProgram({
      config: {
        "dropstack:dataBackups": "daily",
        "dropstack:dataBackupBucket": "dropstack-prod-backups-k3x9q2ab",
        "dropstack:dataBackupPassword": "the-old-stack-s-password",
      },
      secretKeys: ["dropstack:dataBackupPassword"],
      calls: {
        [GET_BUCKET]: (inputs: any) => {
          asked.push(inputs);
          return { ...inputs, id: inputs.name, urn: `do:space:${inputs.name}` };
        },
      },
    });
  });

  test("read the bucket, never make or delete one", () => {
    expect(asked).toEqual([{ name: "dropstack-prod-backups-k3x9q2ab", region: "nyc3" }]);
    expect(run.all(BUCKET)).toEqual([]);
    expect(run.outputs.backups.bucket).toBe("dropstack-prod-backups-k3x9q2ab");
  });

  test("give the node a key to that bucket alone, and that stack's password, not a new one", () => {
    expect(run.find(KEY, "backups-key").inputs.grants).toEqual([
      { bucket: "dropstack-prod-backups-k3x9q2ab", permission: "readwrite" },
    ]);
    expect(run.all("random:index/randomPassword:RandomPassword").map((r) => r.name)).not.toContain(
      "backups-password",
    );
    expect(envOf(run)).toMatchObject({
      RESTIC_REPOSITORY: "s3:https://nyc3.digitaloceanspaces.com/dropstack-prod-backups-k3x9q2ab",
      RESTIC_PASSWORD: "the-old-stack-s-password",
      DROPSTACK_RESTORE_FIRST: "1",
    });
    expect(run.secrets).toContain("backupPassword");
    expect(run.find(CONTAINER, "backups-container").secretInputs).toContain("envs");
  });

  // Thrown inside the lookup's apply, where the mock engine cannot catch it: its words here.
  test("a bucket Spaces does not have is a config error that names it, with the provider's words", () => {
    const error = missingBucketError(
      "dropstack-prod-backups-gone0000",
      "nyc3",
      new Error(
        "invoking getSpacesBucket:\n  Spaces Bucket (dropstack-prod-backups-gone0000) not found\n",
      ),
    );
    expect(error.message).toBe(
      "dropstack:dataBackupBucket: Spaces has no bucket dropstack-prod-backups-gone0000 in nyc3 " +
        "that this account reaches (Spaces Bucket (dropstack-prod-backups-gone0000) not found). " +
        "Name the bucket of the earlier stack's backups, as its `npx pulumi stack output backups` " +
        "gave it, and its region with dataBackupRegion if it is not the stack's",
    );
    // A RunError: Pulumi prints its message alone, never a stack.
    expect(error.stack).toBeUndefined();
    expect(missingBucketError("b", "ams3", new Error("")).message).toMatch(/^[^(]*reaches\. Name/);
  });

  test("a stack's own bucket backs up at once: no restore to wait for", async () => {
    expect(envOf(await withBackups())).not.toHaveProperty("DROPSTACK_RESTORE_FIRST");
  });
});

describe("the Spaces endpoint the provider is given (digitalocean:spacesEndpoint)", () => {
  test("is where the bucket is made and where restic on the node reaches it", async () => {
    const run = await withBackups({ "digitalocean:spacesEndpoint": "http://10.20.0.5:9000" });
    expect(run.find("pulumi:providers:digitalocean", "backups-spaces").inputs.spacesEndpoint).toBe(
      "http://10.20.0.5:9000",
    );
    expect(envOf(run).RESTIC_REPOSITORY).toBe(
      "s3:http://10.20.0.5:9000/dropstack-test-backups-k3x9q2ab",
    );
  });

  test("is DigitalOcean's own by default, given to the provider as such", async () => {
    const run = await withBackups();
    expect(run.find("pulumi:providers:digitalocean", "backups-spaces").inputs.spacesEndpoint).toBe(
      "https://{{.Region}}.digitaloceanspaces.com",
    );
  });
});

describe("the last backup's time", () => {
  const OBJECTS = "digitalocean:index/getSpacesBucketObjects:getSpacesBucketObjects";
  const OBJECT = "digitalocean:index/getSpacesBucketObject:getSpacesBucketObject";
  /** A bucket whose snapshot files were last written at `times` (as the provider gives them). */
  const bucketWith = (times: Record<string, string>) => ({
    [OBJECTS]: (inputs: any) => {
      expect(inputs).toMatchObject({ prefix: "snapshots/", region: "nyc3" });
      return { id: "o", bucket: inputs.bucket, region: inputs.region, keys: Object.keys(times) };
    },
    [OBJECT]: (inputs: any) => ({ id: inputs.key, lastModified: times[inputs.key] }),
  });
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toUTCString();

  test("is the newest snapshot file's, read from the bucket at every up", async () => {
    const newest = hoursAgo(3);
    const run = await runProgram({
      config: { "dropstack:dataBackups": "daily" },
      calls: bucketWith({ "snapshots/aa": hoursAgo(30), "snapshots/bb": newest }),
    });
    expect(run.outputs.backups.lastBackup).toBe(new Date(Date.parse(newest)).toISOString());
    expect(run.warnings.filter((w) => w.startsWith("dropstack:dataBackups"))).toEqual([]);
  });

  test("older than twice the schedule, is warned of on up", async () => {
    const last = hoursAgo(49);
    const run = await runProgram({
      config: { "dropstack:dataBackups": "daily" },
      calls: bucketWith({ "snapshots/aa": last }),
    });
    expect(run.warnings).toContain(
      `dropstack:dataBackups: the last backup ended at ${new Date(Date.parse(last)).toISOString()}, ` +
        "49 hours ago, more than twice the daily schedule: backups are failing or not running. " +
        "On the node, `docker logs dropstack-test-backup` says why; " +
        "`npx dropstack backups --stack <stack>` lists them",
    );
  });

  test("hourly, three hours is already too old", async () => {
    const run = await runProgram({
      config: { "dropstack:dataBackups": "hourly" },
      calls: bucketWith({ "snapshots/aa": hoursAgo(3) }),
    });
    expect(run.warnings.filter((w) => w.startsWith("dropstack:dataBackups"))).toHaveLength(1);
  });
});

test("newest reads the provider's RFC 1123 times (Go's, zone UTC) and skips what it cannot", async () => {
  const { newest } = await import("../components/backup-status");
  expect(
    newest(["Fri, 04 Dec 2026 23:00:00 UTC", "Sat, 05 Dec 2026 06:40:00 UTC", "garbage"]),
  ).toBe("2026-12-05T06:40:00.000Z");
  expect(newest([])).toBeUndefined();
});

describe("the backup image", () => {
  const image = path.join(__dirname, "..", "images", "backup");

  test("puts the script where the command line runs it, executable, as the entrypoint", () => {
    const dockerfile = fs.readFileSync(path.join(image, "Dockerfile"), "utf8");
    expect(dockerfile).toContain("COPY dropstack-backup.sh /usr/local/bin/dropstack-backup\n");
    expect(dockerfile).toContain('ENTRYPOINT ["dropstack-backup"]\nCMD ["run"]\n');
    // COPY keeps the file's mode: a script without its run bit would not start.
    const mode = require("child_process")
      .execFileSync("git", ["ls-files", "--stage", "images/backup/dropstack-backup.sh"], {
        cwd: path.join(__dirname, ".."),
        encoding: "utf8",
      })
      .split(" ")[0];
    expect(mode).toBe("100755");
  });

  test("builds with Docker's classic builder, as the node builds it", async () => {
    const { checkBuilds } = await import("../stackfile");
    const spec = {
      file: "backup",
      services: [{ name: "backup", build: { context: image, args: {} } }],
    } as any;
    expect(checkBuilds(spec, image, image)).toEqual([]);
  });
});

describe("the backup script's repository check", () => {
  const script = path.join(__dirname, "..", "images", "backup", "dropstack-backup.sh");

  /** The script's `backup` with a restic stand-in whose `cat config` fails once. */
  function backupWithFlakyRead(initSays: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-restic-"));
    const calls = path.join(dir, "calls");
    fs.writeFileSync(
      path.join(dir, "restic"),
      [
        "#!/bin/sh",
        `echo "$*" >> ${calls}`,
        'case "$1 $2" in',
        // The first read fails (a moment's error), the next succeeds.
        `  "cat config") [ -e ${dir}/read ] && exit 0; touch ${dir}/read; exit 1 ;;`,
        `  "init "*|init) echo '${initSays}' >&2; exit 1 ;;`,
        "esac",
        "exit 0",
      ].join("\n") + "\n",
      { mode: 0o755 },
    );
    fs.mkdirSync(path.join(dir, "data"));
    const r = spawnSync("sh", [script, "backup"], {
      env: {
        PATH: `${dir}:${process.env.PATH}`,
        DROPSTACK_DATA: path.join(dir, "data"),
        DROPSTACK_STAGING: path.join(dir, "staging"),
        RESTIC_REPOSITORY: "s3:http://127.0.0.1:9/bucket",
      },
      encoding: "utf8",
    });
    return { status: r.status, stderr: r.stderr, calls: fs.readFileSync(calls, "utf8") };
  }

  test("reads a repository again when init finds it there, and backs up (a CI flake)", () => {
    const r = backupWithFlakyRead(
      "Fatal: create key in repository at s3:http://127.0.0.1:9/bucket failed: repository master key and config already initialized",
    );
    expect(r.status).toBe(0);
    expect(r.calls.split("\n").slice(0, 4)).toEqual([
      // Without a lock: a prune elsewhere locks the repository exclusively.
      "cat config --no-lock",
      "init",
      "cat config --no-lock",
      expect.stringMatching(/^backup --quiet --tag dropstack /),
    ]);
  });

  test("fails, saying why, when the repository can be neither read nor made", () => {
    const r = backupWithFlakyRead("Fatal: unable to open repository: connection refused");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "Fatal: unable to open repository: connection refused\n" +
        "dropstack-backup: cannot open or make the repository s3:http://127.0.0.1:9/bucket\n",
    );
  });
});
