// dropstack backups and restore: what they run on the node, how they show it, and every refusal
// with its exact message. ssh is a stand-in (DROPSTACK_SSH) that records its arguments and
// answers as the node would; the container's script itself is run for real by test:engine.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { restorePoint } from "../cli/backups";
import { cli } from "./cli-run";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-backups-"));
const argsFile = path.join(work, "ssh-args");
const fakeSsh = path.join(work, "ssh");
fs.writeFileSync(
  fakeSsh,
  `#!/bin/sh
printf '%s\\n' "$@" > "${argsFile}"
case "$FAKE_NODE" in
  down) echo "ssh: connect to host 203.0.113.10 port 22: Connection refused" >&2; exit 255 ;;
  no-container) echo "Error response from daemon: No such container: dropstack-prod-backup" >&2; exit 1 ;;
  empty) ;;
  missing) echo "dropstack-backup: no backup matches 0badc0de; the backups (ID, time UTC, size in bytes):" >&2; exit 3 ;;
  restore) echo "dropstack-backup: restored backup 4c364596aa" >&2 ;;
  *) printf '4c364596\\t2026-12-04T06:27:23Z\\t1572864\\n156e9b91\\t2026-12-05T06:27:38Z\\t900\\n' ;;
esac
`,
  { mode: 0o755 },
);
fs.mkdirSync(path.join(work, "nodes", "prod"), { recursive: true });
fs.writeFileSync(
  path.join(work, "nodes", "prod", "known_hosts"),
  "203.0.113.10 ssh-ed25519 AAAA\n",
);

async function withNode(mode: string, ...argv: string[]) {
  Object.assign(process.env, {
    DROPSTACK_SSH: fakeSsh,
    DROPSTACK_NODE_FILES: path.join(work, "nodes"),
    FAKE_NODE: mode,
  });
  fs.rmSync(argsFile, { force: true });
  try {
    return await cli(...argv);
  } finally {
    delete process.env.DROPSTACK_SSH;
    delete process.env.DROPSTACK_NODE_FILES;
    delete process.env.FAKE_NODE;
  }
}

/** What ran on the node, after ssh's options and host. */
function ranOnNode(): string[] {
  const args = fs.readFileSync(argsFile, "utf8").trim().split("\n");
  expect(args).toEqual(
    expect.arrayContaining(["-o", "StrictHostKeyChecking=yes", "root@203.0.113.10"]),
  );
  return args.slice(args.indexOf("root@203.0.113.10") + 1);
}

describe("dropstack backups", () => {
  test("lists the backups with their times and sizes, from the node's backup container", async () => {
    expect(await withNode("list", "backups", "--stack", "prod")).toEqual({
      code: 0,
      out:
        "ID        TIME (UTC)            SIZE\n" +
        "4c364596  2026-12-04T06:27:23Z  1.5 MiB\n" +
        "156e9b91  2026-12-05T06:27:38Z  900 B\n",
      err: "",
    });
    expect(ranOnNode()).toEqual([
      "docker",
      "exec",
      "dropstack-prod-backup",
      "dropstack-backup",
      "snapshots",
    ]);
  });

  test("says when there is none yet", async () => {
    expect((await withNode("empty", "backups", "--stack", "prod")).out).toBe(
      "stack prod has no backups yet\n",
    );
  });

  test.each([
    [
      "down",
      ["backups", "--stack", "prod"],
      "dropstack: cannot reach the node of stack prod at 203.0.113.10 over SSH; is the stack up? (`npx pulumi up --stack prod` brings it back). ssh said: ssh: connect to host 203.0.113.10 port 22: Connection refused\n",
    ],
    [
      "no-container",
      ["restore", "--stack", "prod", "--at", "latest"],
      "dropstack: the backup container dropstack-prod-backup is not running on the node of stack prod; is the stack up with dataBackups on? Run `npx pulumi up --stack prod`. Docker said: Error response from daemon: No such container: dropstack-prod-backup\n",
    ],
    [
      "list",
      ["backups", "--stack", "dev"],
      "dropstack: stack dev has no data backups: dropstack:dataBackups is off (set it to daily or hourly, then `npx pulumi up`)\n",
    ],
    [
      "list",
      ["backups", "--stack", "local"],
      "dropstack: stack local has no backups: dropstack:target is local\n",
    ],
    [
      "list",
      ["restore", "--stack", "prod", "--at", "yesterday"],
      'dropstack: --at "yesterday" is not a backup ID or a time; use an ID that `dropstack backups --stack prod` lists (like 4c364596), a time like 2026-12-05T06:00Z (the last backup at or before it), or latest\n',
    ],
  ])("with the node %s, %j is refused with an exact message", async (mode, argv, err) => {
    expect(await withNode(mode, ...argv)).toEqual({ code: 2, out: "", err });
  });

  test("without the node's SSH files says how to get them", async () => {
    fs.rmSync(path.join(work, "nodes", "prod"), { recursive: true });
    try {
      expect((await withNode("list", "backups", "--stack", "prod")).err).toBe(
        `dropstack: stack prod has no node on this machine's record (${path.relative(process.cwd(), path.join(work, "nodes", "prod", "known_hosts"))} is missing): is it up? \`npx pulumi preview --stack prod\` writes the node's SSH files from the stack's state\n`,
      );
    } finally {
      fs.mkdirSync(path.join(work, "nodes", "prod"), { recursive: true });
      fs.writeFileSync(
        path.join(work, "nodes", "prod", "known_hosts"),
        "203.0.113.10 ssh-ed25519 AAAA\n",
      );
    }
  });
});

test.each([
  [
    ["restore", "--stack", "prod", "--at"],
    "dropstack restore: --at needs a value: --at ID|TIME|latest\n",
  ],
  [
    ["backups", "prod"],
    'dropstack backups: unexpected argument "prod"; the only option is --stack NAME\n',
  ],
])("%j is refused before the node is asked", async (argv, err) => {
  expect(await withNode("down", ...argv)).toEqual({ code: 2, out: "", err });
});

test("backups without --stack says it needs one", async () => {
  const { code, err } = await withNode("down", "backups");
  expect(code).toBe(2);
  expect(err.split("\n")[0]).toBe("dropstack: backups needs --stack NAME");
});

describe("dropstack restore", () => {
  test("without --at lists the backups and restores nothing", async () => {
    const { code, out, err } = await withNode("list", "restore", "--stack", "prod");
    expect(code).toBe(0);
    expect(out).toContain("4c364596  2026-12-04T06:27:23Z  1.5 MiB\n");
    expect(err).toBe(
      "dropstack: nothing restored; choose a backup: dropstack restore --stack prod --at <ID or time>, or --at latest\n",
    );
    expect(ranOnNode().at(-1)).toBe("snapshots");
  });

  test("restores the backup an ID names, saying what the container did", async () => {
    expect(await withNode("restore", "restore", "--stack", "prod", "--at", "4c364596")).toEqual({
      code: 0,
      out: "",
      err: "dropstack-backup: restored backup 4c364596aa\n",
    });
    expect(ranOnNode()).toEqual([
      "docker",
      "exec",
      "dropstack-prod-backup",
      "dropstack-backup",
      "restore",
      "4c364596",
    ]);
  });

  test("a time picks the last backup at or before it", async () => {
    await withNode("restore", "restore", "--stack", "prod", "--at", "2026-12-05T06:00");
    expect(ranOnNode().at(-1)).toBe(`before:${Date.UTC(2026, 11, 5, 6, 0) / 1000}`);
  });

  test("a restore point that does not exist exits 1 with the container's list", async () => {
    const { code, err } = await withNode(
      "missing",
      "restore",
      "--stack",
      "prod",
      "--at",
      "0badc0de",
    );
    expect(code).toBe(1);
    expect(err).toBe(
      "dropstack-backup: no backup matches 0badc0de; the backups (ID, time UTC, size in bytes):\n",
    );
  });

  test.each([
    ["latest", "latest"],
    ["4c364596d5fab0cb", "4c364596d5fab0cb"],
    ["2026-12-05", `before:${Date.UTC(2026, 11, 5) / 1000}`],
    ["2026-12-05T06:30:00Z", `before:${Date.UTC(2026, 11, 5, 6, 30) / 1000}`],
    ["2026-12-05T08:30+02:00", `before:${Date.UTC(2026, 11, 5, 6, 30) / 1000}`],
  ])("reads --at %s as %s", (at, point) => {
    expect(restorePoint(at, "prod")).toBe(point);
  });
});
