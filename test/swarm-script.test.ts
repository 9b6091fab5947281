// scripts/swarm.sh with stand-ins for ssh (runs the remote command here, as the node's shell
// would) and docker (records each call with the node it ran on, answers like a node would).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./harness";
import { run } from "./tools";
import * as YAML from "yaml";

const SCRIPT = path.join(ROOT, "scripts", "swarm.sh");
const FIRST = "203.0.113.10";
const SECOND = "203.0.113.11";
const TOKENS = '{"worker":"SWMTKN-1-worker","manager":"SWMTKN-1-manager"}\n';

const SSH = [
  "#!/bin/sh",
  // Options and their values, then root@HOST, then the command string for the remote shell.
  'while [ "$#" -gt 0 ]; do case "$1" in -i|-o) shift 2 ;; root@*) host=${1#root@}; shift; break ;; *) shift ;; esac; done',
  // printf, not echo: dash's echo would turn the command's \n into a line break.
  'printf "ssh %s: %s\\n" "$host" "$*" >> "$LOG"',
  'SSH_HOST=$host exec sh -c "$1"',
].join("\n");

const DOCKER = [
  "#!/bin/sh",
  'echo "$SSH_HOST: docker $*" >> "$LOG"',
  'case "$*" in',
  // The first node's state comes from the test; any other node is not in a swarm yet.
  // live-restore: off, as the daemon's is once swarm.sh has turned it off.
  '  "info --format {{.LiveRestoreEnabled}}") echo false ;;',
  '  "info --format {{.Swarm.LocalNodeState}}") if [ "$SSH_HOST" = "$ACTIVE_HOST" ]; then echo active; else echo inactive; fi ;;',
  // The node's ID when it is in a swarm; the first node's list of its swarm's nodes.
  '  "info --format {{.Swarm.NodeID}}") if [ "$SSH_HOST" = "$ACTIVE_HOST" ]; then echo "$ACTIVE_ID"; fi ;;',
  '  "node ls -q") for id in $MEMBERS; do echo "$id"; done ;;',
  '  "swarm join-token -q worker") echo SWMTKN-1-worker ;;',
  '  "swarm join-token -q manager") echo SWMTKN-1-manager ;;',
  '  "node inspect --format"*) echo "dropstack.node dropstack.data dropstack.tag.old dropstack.tag.gpu " ;;',
  // The node's containers, networks, services and running service tasks, from the test.
  '  "ps -a --format {{.Names}}") for n in $NAMES; do echo "$n"; done ;;',
  '  "network inspect "*) [ "$*" = "network inspect $NETWORK" ] ;;',
  '  "service ls --format {{.Name}}") for s in $SERVICES; do echo "$s"; done ;;',
  '  "ps --format {{.Label"*) for t in $TASKS; do echo "$t"; done ;;',
  // A service's mode; whether it exists; its running containers (none: they have stopped).
  '  "service inspect --format"*) echo "$MODE" ;;',
  '  "service inspect "*) [ "$*" = "service inspect $INSPECTED" ] ;;',
  '  "ps -q --filter "*) ;;',
  // The swarm's configs and secrets, from the test; one named *in-use* cannot be removed.
  '  "config ls --format {{.Name}}") for c in $CONFIGS; do echo "$c"; done ;;',
  '  "secret ls --format {{.Name}}") for c in $SECRETS; do echo "$c"; done ;;',
  '  "config rm "*in-use*|"secret rm "*in-use*) echo "in use by a service" >&2; exit 1 ;;',
  "esac",
].join("\n");

function swarm(
  action: string,
  env: Record<string, string>,
  stdin?: string,
): { status: number; output: string; calls: string[]; ssh: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-swarm-"));
  fs.writeFileSync(path.join(dir, "ssh"), `${SSH}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "docker"), `${DOCKER}\n`, { mode: 0o755 });
  const log = path.join(dir, "log");
  fs.writeFileSync(log, "");
  const result = run("sh", [SCRIPT, action], stdin, {
    PATH: `${env.EXTRA_PATH ? `${env.EXTRA_PATH}:` : ""}${dir}:/usr/bin:/bin`,
    LOG: log,
    ACTIVE_HOST: "",
    ACTIVE_ID: "",
    MEMBERS: "n1firstnode0000000000000",
    NAMES: "",
    NETWORK: "",
    SERVICES: "",
    TASKS: "",
    MODE: "",
    INSPECTED: "",
    CONFIGS: "",
    SECRETS: "",
    DROPSTACK_PREFIX: "dropstack-team",
    DROPSTACK_SSH_OPTS: "-i key -o StrictHostKeyChecking=yes",
    DROPSTACK_MANAGER_SSH_OPTS: "-i key1 -o StrictHostKeyChecking=yes",
    DROPSTACK_MANAGER_HOST: FIRST,
    DROPSTACK_MANAGER_ADDR: "10.10.0.2",
    ...env,
  });
  const lines = fs.readFileSync(log, "utf8").trim().split("\n");
  return {
    ...result,
    // What docker did on which node; `ssh …` lines are what crossed the wire.
    calls: lines.filter((line) => !line.startsWith("ssh ")),
    ssh: lines.filter((line) => line.startsWith("ssh ")),
  };
}

describe("scripts/swarm.sh", () => {
  test("init starts the swarm on the first node and prints both join tokens", () => {
    const { status, output, calls } = swarm("init", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_ADDR: "10.10.0.2",
    });
    expect({ status, output }).toEqual({
      status: 0,
      output: '{"worker":"SWMTKN-1-worker","manager":"SWMTKN-1-manager"}\n',
    });
    expect(calls).toEqual([
      `${FIRST}: docker info --format {{.LiveRestoreEnabled}}`,
      `${FIRST}: docker info --format {{.Swarm.LocalNodeState}}`,
      // Nothing of the stack runs alone here: nothing to stop, no network to remove.
      `${FIRST}: docker ps -a --format {{.Names}}`,
      `${FIRST}: docker network inspect dropstack-team`,
      `${FIRST}: docker swarm init --advertise-addr 10.10.0.2`,
      `${FIRST}: docker swarm join-token -q worker`,
      `${FIRST}: docker swarm join-token -q manager`,
    ]);
  });

  // Found by the emulated DigitalOcean's cluster up: Docker refuses `swarm init` and `swarm join`
  // with live-restore on, which the node's user_data turns on.
  test("init and join turn off the live-restore the node's daemon.json turns on, first", () => {
    const cloudConfig = YAML.parse(
      fs.readFileSync(path.join(ROOT, "cloud-init", "cloud-config.yaml"), "utf8"),
    );
    const daemon: string = cloudConfig.write_files.find(
      (f: { path: string }) => f.path === "/etc/docker/daemon.json",
    ).content;
    expect(daemon).toContain('"live-restore": true');
    for (const action of ["init", "join"]) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-daemon-"));
      const file = path.join(dir, "daemon.json");
      fs.writeFileSync(file, daemon);
      fs.writeFileSync(
        path.join(dir, "systemctl"),
        '#!/bin/sh\necho "$SSH_HOST: systemctl $*" >> "$LOG"\n',
        {
          mode: 0o755,
        },
      );
      const { status, calls } = swarm(
        action,
        {
          DROPSTACK_HOST: SECOND,
          DROPSTACK_ADDR: "10.10.0.3",
          DROPSTACK_ROLE: "worker",
          DROPSTACK_DAEMON_JSON: file,
          EXTRA_PATH: dir,
        },
        TOKENS,
      );
      expect(status).toBe(0);
      expect(fs.readFileSync(file, "utf8")).toContain('"live-restore": false');
      const reload = calls.indexOf(`${SECOND}: systemctl reload docker`);
      const swarmCall = calls.findIndex((c) => / docker swarm (init|join) /.test(c));
      expect(reload).toBeGreaterThanOrEqual(0);
      expect(reload).toBeLessThan(swarmCall);
    }
  });

  // Found by the emulated cluster grown from one node: the swarm's network, named as the single
  // node's, could not be made beside it, and the services would have started beside the
  // containers, on the same data (two Mongo servers on one folder) and the same ports.
  test("init on a node that ran the stack alone stops and removes its containers and network first", () => {
    const { status, calls } = swarm("init", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_ADDR: "10.10.0.2",
      NAMES: "dropstack-team-mongo-1 dropstack-team-proxy other-app dropstack-teamwork-web-1",
      NETWORK: "dropstack-team",
    });
    expect(status).toBe(0);
    const from = calls.indexOf(`${FIRST}: docker ps -a --format {{.Names}}`);
    expect(calls.slice(from + 1, from + 5)).toEqual([
      `${FIRST}: docker stop -t 60 dropstack-team-mongo-1 dropstack-team-proxy`,
      `${FIRST}: docker rm dropstack-team-mongo-1 dropstack-team-proxy`,
      `${FIRST}: docker network inspect dropstack-team`,
      `${FIRST}: docker network rm dropstack-team`,
    ]);
    expect(calls[from + 5]).toBe(`${FIRST}: docker swarm init --advertise-addr 10.10.0.2`);
  });

  test("init on a fresh node removes nothing; a prefix the remote shell would misread is refused", () => {
    const { calls } = swarm("init", { DROPSTACK_HOST: FIRST, DROPSTACK_ADDR: "10.10.0.2" });
    expect(calls.filter((c) => / docker (stop|rm|network rm) /.test(c))).toEqual([]);
    const refused = swarm("init", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_ADDR: "10.10.0.2",
      DROPSTACK_PREFIX: "team; reboot",
    });
    expect(refused.status).toBe(2);
    expect(refused.output).toContain("swarm.sh: not a stack prefix: team; reboot");
    expect(refused.calls.filter((c) => c !== "")).toEqual([]);
  });

  // Found by the emulated cluster shrunk to one node: the node's network could not be made while
  // the swarm's, of the same name, was there, nor could its containers start beside the services.
  test("disband on a node in the stack's swarm removes its services, leaves, and turns live-restore back on", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-daemon-"));
    const file = path.join(dir, "daemon.json");
    fs.writeFileSync(file, '{\n  "live-restore": false\n}\n');
    fs.writeFileSync(
      path.join(dir, "systemctl"),
      '#!/bin/sh\necho "$SSH_HOST: systemctl $*" >> "$LOG"\n',
      { mode: 0o755 },
    );
    const { status, calls } = swarm("disband", {
      DROPSTACK_HOST: FIRST,
      ACTIVE_HOST: FIRST,
      SERVICES: "dropstack-team-mongo dropstack-team-proxy other-service",
      DROPSTACK_DAEMON_JSON: file,
      EXTRA_PATH: dir,
    });
    expect(status).toBe(0);
    expect(calls.filter((c) => !c.includes("docker info") && !c.includes("--format"))).toEqual([
      `${FIRST}: docker service rm dropstack-team-mongo dropstack-team-proxy`,
      `${FIRST}: docker swarm leave --force`,
      `${FIRST}: systemctl reload docker`,
    ]);
    expect(fs.readFileSync(file, "utf8")).toContain('"live-restore": true');
  });

  // Found by the emulated cluster: a service whose first process ignores SIGTERM took its whole
  // grace period to stop, and the provider's delete, which waits no longer, failed.
  test("stop scales a replicated service to none, and waits for its containers on the node", () => {
    const r = swarm("stop", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_SERVICE: "dropstack-team-worker",
      INSPECTED: "dropstack-team-worker",
    });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      `${FIRST}: docker service inspect dropstack-team-worker`,
      `${FIRST}: docker service inspect --format {{if .Spec.Mode.Global}}global{{end}} dropstack-team-worker`,
      `${FIRST}: docker service scale --detach dropstack-team-worker=0`,
      `${FIRST}: docker ps -q --filter label=com.docker.swarm.service.name=dropstack-team-worker`,
    ]);
  });

  test("stop moves a global service off every node; a service already gone is left alone", () => {
    const global = swarm("stop", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_SERVICE: "dropstack-team-agent",
      INSPECTED: "dropstack-team-agent",
      MODE: "global",
    });
    expect(global.status).toBe(0);
    expect(global.calls[2]).toBe(
      `${FIRST}: docker service update --detach --constraint-add node.labels.dropstack.stopping==true dropstack-team-agent`,
    );
    const gone = swarm("stop", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_SERVICE: "dropstack-team-agent",
    });
    expect(gone.status).toBe(0);
    expect(gone.calls).toEqual([`${FIRST}: docker service inspect dropstack-team-agent`]);
  });

  test("stop refuses a name the node's shell would read as more than a name", () => {
    const r = swarm("stop", { DROPSTACK_HOST: FIRST, DROPSTACK_SERVICE: "x;reboot" });
    expect([r.status, r.output, r.calls]).toEqual([
      2,
      "swarm.sh: not a service name: x;reboot\n",
      [""],
    ]);
  });

  test("prune removes the stack's configs and secrets not kept, keeps one in use, and no one else's", () => {
    const r = swarm("prune", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_KEEP: "dropstack-team-caddyfile-bbbbbbbbbbbb dropstack-team-ca-key-cccccccccccc",
      CONFIGS:
        "dropstack-team-caddyfile-aaaaaaaaaaaa dropstack-team-caddyfile-bbbbbbbbbbbb " +
        "dropstack-team-ca-in-use my-own-config",
      SECRETS: "dropstack-team-ca-key-cccccccccccc dropstack-team-ca-key-dddddddddddd",
    });
    expect([r.status, r.output]).toEqual([
      0,
      "in use by a service\nswarm.sh: kept config dropstack-team-ca-in-use, which Docker would not remove\n",
    ]);
    expect(r.calls.filter((c) => c.includes(" rm "))).toEqual([
      `${FIRST}: docker config rm dropstack-team-caddyfile-aaaaaaaaaaaa`,
      `${FIRST}: docker config rm dropstack-team-ca-in-use`,
      `${FIRST}: docker secret rm dropstack-team-ca-key-dddddddddddd`,
    ]);
  });

  test("disband on a node in no swarm leaves it as it is", () => {
    const { status, calls } = swarm("disband", { DROPSTACK_HOST: FIRST });
    expect(status).toBe(0);
    expect(calls).toEqual([`${FIRST}: docker info --format {{.Swarm.LocalNodeState}}`]);
  });

  test("init on a node already in its swarm only prints the tokens", () => {
    const { calls } = swarm("init", {
      DROPSTACK_HOST: FIRST,
      DROPSTACK_ADDR: "10.10.0.2",
      ACTIVE_HOST: FIRST,
    });
    expect(calls.some((c) => c.includes("swarm init"))).toBe(false);
  });

  test("join takes its role's token from stdin and never puts it on a command line", () => {
    const { status, calls, ssh } = swarm(
      "join",
      {
        DROPSTACK_HOST: SECOND,
        DROPSTACK_ADDR: "10.10.0.3",
        DROPSTACK_ROLE: "worker",
        DROPSTACK_NODE: "dropstack-team-2",
      },
      '{"worker":"SWMTKN-1-worker","manager":"SWMTKN-1-manager"}\n',
    );
    expect(status).toBe(0);
    expect(calls).toContain(
      `${SECOND}: docker swarm join --advertise-addr 10.10.0.3 --token SWMTKN-1-worker 10.10.0.2:2377`,
    );
    expect(ssh.join("\n")).not.toContain("SWMTKN");
  });

  test("join does nothing on a node already in the first node's swarm", () => {
    const { status, calls } = swarm(
      "join",
      {
        DROPSTACK_HOST: SECOND,
        DROPSTACK_ADDR: "10.10.0.3",
        DROPSTACK_ROLE: "worker",
        ACTIVE_HOST: SECOND,
        ACTIVE_ID: "n2secondnode000000000000",
        MEMBERS: "n1firstnode0000000000000 n2secondnode000000000000",
      },
      TOKENS,
    );
    expect(status).toBe(0);
    expect(calls.filter((c) => c.includes("swarm"))).toEqual([]);
  });

  test("join takes a node still in the swarm of a replaced first node out of it, then joins", () => {
    const { status, calls } = swarm(
      "join",
      {
        DROPSTACK_HOST: SECOND,
        DROPSTACK_ADDR: "10.10.0.3",
        DROPSTACK_ROLE: "manager",
        ACTIVE_HOST: SECOND,
        ACTIVE_ID: "n2intheoldswarm000000000",
      },
      TOKENS,
    );
    expect(status).toBe(0);
    expect(calls.filter((c) => c.includes("swarm"))).toEqual([
      `${SECOND}: docker swarm leave --force`,
      `${SECOND}: docker swarm join --advertise-addr 10.10.0.3 --token SWMTKN-1-manager 10.10.0.2:2377`,
    ]);
  });

  test("join refuses a missing token or role, saying which", () => {
    const env = { DROPSTACK_HOST: SECOND, DROPSTACK_ADDR: "10.10.0.3" };
    expect(swarm("join", { ...env, DROPSTACK_ROLE: "manager" }, "{}\n")).toMatchObject({
      status: 2,
      output: "swarm.sh: no manager token on stdin\n",
    });
    expect(swarm("join", { ...env, DROPSTACK_ROLE: "boss" }, "{}\n")).toMatchObject({
      status: 2,
      output: "swarm.sh: DROPSTACK_ROLE must be manager or worker\n",
    });
  });

  test("label sets the node's labels from the first node and takes off tags it no longer has", () => {
    const { status, calls } = swarm("label", {
      DROPSTACK_NODE: "dropstack-team-2",
      DROPSTACK_LABELS: "dropstack.node=2 dropstack.tag.gpu=true",
    });
    expect(status).toBe(0);
    expect(calls[calls.length - 1]).toBe(
      `${FIRST}: docker node update --label-add dropstack.node=2 --label-add dropstack.tag.gpu=true ` +
        "--label-rm dropstack.tag.old dropstack-team-2",
    );
  });

  test("label refuses a label the remote shell would read as more than a word", () => {
    expect(swarm("label", { DROPSTACK_NODE: "n", DROPSTACK_LABELS: "a=1;reboot" })).toMatchObject({
      status: 2,
      output: "swarm.sh: not a label: a=1;reboot\n",
    });
  });

  test("leave demotes the node, makes it leave, and has the first node forget it", () => {
    const { status, calls } = swarm("leave", {
      DROPSTACK_HOST: SECOND,
      DROPSTACK_NODE: "dropstack-team-2",
    });
    expect(status).toBe(0);
    expect(calls).toEqual([
      `${FIRST}: docker node demote dropstack-team-2`,
      `${SECOND}: docker swarm leave --force`,
      `${FIRST}: docker node rm --force dropstack-team-2`,
    ]);
  });

  test("dirs makes each missing folder from stdin and leaves what exists, a file included", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-dirs-"));
    fs.writeFileSync(path.join(root, "docker.sock"), "not a folder");
    const wanted = [
      path.join(root, "db", "data"),
      path.join(root, "docker.sock"),
      path.join(root, "a b"),
    ];
    const { status, ssh } = swarm(
      "dirs",
      { DROPSTACK_HOST: FIRST },
      wanted.map((p) => `${p}\n`).join(""),
    );
    expect(status).toBe(0);
    expect(fs.statSync(wanted[0]).isDirectory()).toBe(true);
    expect(fs.readFileSync(wanted[1], "utf8")).toBe("not a folder");
    expect(fs.statSync(wanted[2]).isDirectory()).toBe(true);
    // One ssh to the node; the paths went on stdin.
    expect(ssh.length).toBe(1);
    expect(ssh[0]).toMatch(new RegExp(`^ssh ${FIRST}: while IFS= read -r p`));
    // A second run changes nothing and succeeds.
    expect(swarm("dirs", { DROPSTACK_HOST: FIRST }, `${wanted[0]}\n`).status).toBe(0);
  });

  test("dirs refuses a relative path and does nothing with an empty list", () => {
    expect(swarm("dirs", { DROPSTACK_HOST: FIRST }, "data/db\n")).toMatchObject({
      status: 2,
      output: "swarm.sh: dirs takes absolute paths\n",
    });
    expect(swarm("dirs", { DROPSTACK_HOST: FIRST }, "")).toMatchObject({ status: 0, ssh: [] });
  });
});
