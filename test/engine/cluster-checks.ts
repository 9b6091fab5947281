// scripts/swarm.sh forming a real multi-node Docker Swarm, as formSwarm (components/swarm.ts)
// runs it over SSH to a cluster's droplets. DigitalOcean is out of reach here, so the nodes are
// containers of the harness's engine with what --privileged gives (but one capability, see
// below), each running its own dockerd (Docker in Docker) on one user-defined network, and the
// ssh stand-in runs the remote command in the named node with `docker exec`. Checked: init on
// node 1, two managers joining one at a time with their token on stdin only, labels set from
// node 1 and a stale tag label taken off, a second run changing nothing, a worker joining, and
// leave (demote, leave, node rm) for a manager that goes and for a node already gone.
// Containers and network go afterwards, whatever happened.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DATA_MOUNT } from "../../cloud-init";
import { managerCount, nodeLabels } from "../../components/swarm";
import { swarmBindSources, swarmMounts } from "../../components/swarm-service";
import { parseStackfile, swarmService } from "../../stackfile";
import { BASE_IMAGE, ensureNodeImage, NODE_IMAGE, nodeImageMissing } from "./base-image";
import { expectEqual, tryDocker, waitUntil } from "./checks";
import type { Check } from "./checks";
import type { DockerEngine } from "./docker-engine";

/** The nodes: 1 to 3 as a three-node cluster has them, 4 for the worker a fourth node is. */
const NODES = [1, 2, 3, 4];
/** The services deployed on the nodes, relative to the project. */
const STACKFILE = path.join("test", "engine", "cluster", "stack.yml");
/**
 * A node's command: its own cgroup hierarchies, writable, then dockerd. Docker mounts the host's
 * cgroup v1 hierarchies read-only in a container that is not --privileged, and the node's dockerd
 * could then start no task ("mkdir /sys/fs/cgroup/cpuset/docker: read-only file system"); each
 * is mounted afresh, as --privileged would leave it. (On cgroup v2, not met here, no hierarchy
 * matches and nothing is done.)
 */
const NODE_START = [
  "for dir in /sys/fs/cgroup/*/; do",
  '  grep -q " ${dir%/} cgroup .*ro," /proc/mounts || continue',
  '  name=$(basename "$dir")',
  '  case "$name" in systemd) options=none,name=systemd ;; *) options="$name" ;; esac',
  '  umount "$dir" && mount -t cgroup -o "$options" cgroup "$dir" || exit 1',
  "done",
  "exec dockerd",
].join("\n");

/** Node 2's tags in the config; the re-label check drops them. */
const NODE_TAGS: Record<number, string[]> = { 2: ["gpu"] };

/**
 * The ssh stand-in, called as swarm.sh calls ssh: options and their values, root@HOST, then the
 * command string for the node's shell. HOST is a node's container name; stdin goes through to
 * the command (join reads its token from it). Each command string is logged, to show no token
 * ever crosses on a command line.
 */
const SSH = [
  "#!/bin/sh",
  'while [ "$#" -gt 0 ]; do',
  '  case "$1" in',
  "    -i | -o) shift 2 ;;",
  "    root@*) host=${1#root@}; shift; break ;;",
  '    *) echo "ssh stand-in: unexpected argument $1" >&2; exit 255 ;;',
  "  esac",
  "done",
  '[ "$#" -eq 1 ] || { echo "ssh stand-in: expected one command string, got $#" >&2; exit 255; }',
  'printf "%s: %s\\n" "$host" "$1" >> "$SSH_LOG"',
  'exec docker exec -i "$host" sh -c "$1"',
].join("\n");

export async function clusterChecks(
  engine: DockerEngine,
  project: string,
  prefix: string,
  check: Check,
): Promise<void> {
  const network = `${prefix}-cluster`;
  const name = (n: number) => `${prefix}-node-${n}`;
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cluster-ssh-"));
  const sshLog = path.join(bin, "ssh.log");
  fs.writeFileSync(path.join(bin, "ssh"), `${SSH}\n`, { mode: 0o755 });
  fs.writeFileSync(sshLog, "");
  const addr: Record<number, string> = {};

  /** Runs `docker ...` in node n (on its own dockerd). */
  const onNode = (n: number, args: string[]) => engine.docker(["exec", name(n), "docker", ...args]);
  /** `sh scripts/swarm.sh ACTION` with the environment formSwarm gives it for node n. */
  const swarm = (action: string, n: number, env: Record<string, string> = {}, input?: string) => {
    const r = spawnSync("sh", [path.join(project, "scripts", "swarm.sh"), action], {
      cwd: project,
      input,
      encoding: "utf8",
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        DOCKER_HOST: engine.host,
        SSH_LOG: sshLog,
        // sshEnv(node): the program gives the droplet's public address and its pinned key.
        DROPSTACK_HOST: name(n),
        DROPSTACK_SSH_OPTS: `-i /keys/node-${n} -o StrictHostKeyChecking=yes`,
        DROPSTACK_ADDR: addr[n] ?? "",
        // managerEnv: always the first node.
        DROPSTACK_MANAGER_HOST: name(1),
        DROPSTACK_MANAGER_SSH_OPTS: "-i /keys/node-1 -o StrictHostKeyChecking=yes",
        DROPSTACK_MANAGER_ADDR: addr[1] ?? "",
        // node.hostname: the droplet's name, which is its Swarm node name; here the container's.
        DROPSTACK_NODE: name(n),
        // The stack's prefix, as formSwarm gives it: the names of a single node's containers.
        DROPSTACK_PREFIX: `${prefix}-cluster`,
        ...env,
      },
    });
    if (r.status !== 0)
      throw new Error(
        `swarm.sh ${action} for node ${n} failed (${r.status}):\n${r.stdout}${r.stderr}`,
      );
    return r.stdout;
  };
  /** The role formSwarm gives node n of a cluster of `count` nodes. */
  const role = (n: number, count: number) => (n <= managerCount(count) ? "manager" : "worker");
  const join = (n: number, count: number, tokens: string) =>
    swarm("join", n, { DROPSTACK_ROLE: role(n, count) }, tokens);
  const label = (n: number, tags = NODE_TAGS[n] ?? []) =>
    swarm("label", n, { DROPSTACK_LABELS: nodeLabels(n, tags).join(" ") });

  /** What node 1, the first manager, lists: "HOSTNAME STATUS MANAGER-STATUS" per node. */
  const nodeList = () =>
    onNode(1, ["node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"])
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .sort();
  const labelsOf = (n: number) =>
    JSON.parse(onNode(1, ["node", "inspect", "--format", "{{json .Spec.Labels}}", name(n)]));
  const swarmState = (n: number) =>
    onNode(n, ["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"]).trim();
  /** What a second run must not change: each node's ID, role and labels. */
  const snapshot = () =>
    onNode(1, ["node", "ls", "-q"])
      .split("\n")
      .filter(Boolean)
      .map((id) =>
        onNode(1, [
          "node",
          "inspect",
          "--format",
          "{{.ID}} {{.Description.Hostname}} {{.Spec.Role}} {{json .Spec.Labels}}",
          id,
        ]).trim(),
      )
      .sort();

  const cleanup = () => {
    for (const n of NODES) tryDocker(engine, ["rm", "-f", "-v", name(n)]);
    tryDocker(engine, ["network", "rm", network]);
  };

  /**
   * Why the checks after the image, the nodes or the swarm cannot run, once one has failed: each
   * of those three checks sets it as it starts and clears it when it passes.
   */
  let notReady: string | undefined = "the node image was not made";
  const after = (what: string, fn: () => unknown) =>
    check(what, () => {
      if (notReady !== undefined) throw new Error(`not run: ${notReady}`);
      return fn();
    });
  let tokens = "";
  /** Why the service checks after the deploy cannot run, once it has failed. */
  let notDeployed: string | undefined = "the stack was not deployed";
  const stack = `${prefix}-cluster`;
  /** The running tasks of the stack's service `svc`, as node 1 lists them. */
  const running = (svc: string) =>
    onNode(1, [
      "service",
      "ps",
      "--no-trunc",
      "--filter",
      "desired-state=running",
      "--format",
      "{{.ID}} {{.Node}} {{.CurrentState}}",
      `${stack}_${svc}`,
    ])
      .split("\n")
      .map((line) => line.split(" "))
      .filter(([, , state]) => state === "Running")
      .map(([id, node]) => ({ id, node }));
  /** The stand-in base image as `docker save` writes it, saved once. */
  let saved: Buffer | undefined;
  const baseImage = (): Buffer => {
    if (saved === undefined) {
      const r = spawnSync("docker", ["save", BASE_IMAGE], {
        env: { ...process.env, DOCKER_HOST: engine.host },
        maxBuffer: 1024 * 1024 * 1024,
      });
      if (r.status !== 0) throw new Error(`docker save ${BASE_IMAGE}: ${r.stderr}`);
      saved = r.stdout;
    }
    return saved;
  };

  try {
    // Nodes and network left by an interrupted run go first.
    cleanup();
    await check(
      "the node image (Debian bookworm with docker.io) is made without a registry",
      () => {
        const why = nodeImageMissing(engine);
        if (why !== undefined) throw new Error(`the node image cannot be made: ${why}`);
        ensureNodeImage(engine, (line) => process.stdout.write(`  ${line}\n`));
        notReady = undefined;
      },
    );
    await after(
      "four Docker-in-Docker nodes (all capabilities but SYS_RESOURCE, running dockerd) answer on one network",
      async () => {
        notReady = "the nodes did not start";
        engine.docker(["network", "create", network]);
        for (const n of NODES)
          engine.docker([
            "run",
            "-d",
            // What --privileged gives a Docker-in-Docker node, save CAP_SYS_RESOURCE, which
            // dockerd does not need: where the harness runs without it in its bounding set (as
            // in this sandbox), --privileged (every capability, and --cap-drop is ignored) fails
            // with "unable to apply caps: operation not permitted". Unmasked, writable /proc/sys
            // for the sysctls dockerd sets on its bridges (read-only, it logs "unable to disable
            // IPv6 router advertisement"); no seccomp filter, as with --privileged.
            ...["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"],
            ...["--security-opt", "systempaths=unconfined", "--security-opt", "seccomp=unconfined"],
            "--name",
            name(n),
            // The Swarm node name is the hostname: the droplet's name in the program.
            "--hostname",
            name(n),
            "--network",
            network,
            // The node's images and containers on a volume, not on the container's overlay
            // root (overlay2 cannot stack on overlay), as the docker:dind image has it.
            ...["--volume", "/var/lib/docker"],
            NODE_IMAGE,
            ...["sh", "-c", NODE_START],
          ]);
        for (const n of NODES) {
          await waitUntil(
            `${name(n)}'s dockerd`,
            () =>
              tryDocker(engine, ["exec", name(n), "docker", "info", "--format", "ok"]) === "ok\n",
            () => tryDocker(engine, ["logs", "--tail", "20", name(n)]) ?? "(no logs)",
            60,
          );
          addr[n] = engine
            .docker([
              "inspect",
              "--format",
              `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
              name(n),
            ])
            .trim();
          if (!/^\d+\.\d+\.\d+\.\d+$/.test(addr[n]))
            throw new Error(`${name(n)} has no address on ${network}: "${addr[n]}"`);
          expectEqual(swarmState(n), "inactive false", `${name(n)}'s swarm state at the start`);
        }
        notReady = undefined;
      },
    );

    await after(
      "swarm.sh init on node 1, then join of nodes 2 and 3 as managers one at a time: 3 Ready managers",
      async () => {
        notReady = "the swarm was not formed";
        const count = 3;
        expectEqual(
          [2, 3].map((n) => role(n, count)),
          ["manager", "manager"],
          "roles",
        );
        tokens = swarm("init", 1);
        const parsed = JSON.parse(tokens);
        if (!/^SWMTKN-1-/.test(parsed.worker) || !/^SWMTKN-1-/.test(parsed.manager))
          throw new Error(`init printed no join tokens: ${tokens}`);
        for (const n of [2, 3]) {
          join(n, count, tokens);
          expectEqual(swarmState(n), "active true", `${name(n)}'s swarm state after its join`);
        }
        await waitUntil(
          "three Ready managers",
          () =>
            JSON.stringify(nodeList()) ===
            JSON.stringify([
              `${name(1)} Ready Leader`,
              `${name(2)} Ready Reachable`,
              `${name(3)} Ready Reachable`,
            ]),
          () => nodeList().join("\n"),
          30,
        );
        // Each node advertises its address on the network, as a droplet its private one.
        for (const n of [1, 2, 3])
          expectEqual(
            onNode(1, ["node", "inspect", "--format", "{{.Status.Addr}}", name(n)]).trim(),
            addr[n],
            `${name(n)}'s address in the swarm`,
          );
        // What crossed to the nodes as command lines (visible in ps there): joins, no token.
        const wire = fs.readFileSync(sshLog, "utf8");
        if (!wire.includes(`${name(3)}: `) || !wire.includes("docker swarm join "))
          throw new Error(`the ssh stand-in logged no join on ${name(3)}:\n${wire}`);
        if (wire.includes("SWMTKN"))
          throw new Error(`a join token crossed on a command line:\n${wire}`);
        notReady = undefined;
      },
    );

    await after("swarm.sh label sets each node's labels from node 1 (number, data, tags)", () => {
      for (const n of [1, 2, 3]) label(n);
      expectEqual(
        [1, 2, 3].map(labelsOf),
        [
          { "dropstack.data": "true", "dropstack.node": "1" },
          { "dropstack.node": "2", "dropstack.tag.gpu": "true" },
          { "dropstack.node": "3" },
        ],
        "the nodes' labels",
      );
    });

    await after("re-labelling node 2 without its gpu tag takes the tag label off", () => {
      label(2, []);
      expectEqual(labelsOf(2), { "dropstack.node": "2" }, "node 2's labels");
      label(2);
      expectEqual(labelsOf(2), { "dropstack.node": "2", "dropstack.tag.gpu": "true" }, "back");
    });

    await after("a second init, join and label run changes nothing", () => {
      const before = snapshot();
      expectEqual(swarm("init", 1), tokens, "the tokens a second init prints");
      for (const n of [2, 3]) join(n, 3, tokens);
      for (const n of [1, 2, 3]) label(n);
      expectEqual(snapshot(), before, "the nodes (ID, hostname, role, labels)");
    });

    await after(
      "a fourth node, left in a swarm of its own (as by a replaced first node), leaves it and joins as a worker",
      async () => {
        const count = 4;
        expectEqual(role(4, count), "worker", "node 4's role");
        // A swarm node 1 knows nothing of: what nodes keep when the first node is replaced.
        onNode(4, ["swarm", "init", "--advertise-addr", addr[4]]);
        const stale = onNode(4, ["info", "--format", "{{.Swarm.NodeID}}"]).trim();
        join(4, count, tokens);
        const id = onNode(4, ["info", "--format", "{{.Swarm.NodeID}}"]).trim();
        if (id === stale) throw new Error(`node 4 kept its own swarm's ID ${stale}`);
        label(4);
        expectEqual(swarmState(4), "active false", `${name(4)}'s swarm state`);
        await waitUntil(
          "node 4 Ready, no manager",
          () => nodeList().includes(`${name(4)} Ready`),
          () => nodeList().join("\n"),
          30,
        );
        expectEqual(
          onNode(1, ["node", "inspect", "--format", "{{.Spec.Role}}", name(4)]).trim(),
          "worker",
          "node 4's role in the swarm",
        );
        expectEqual(labelsOf(4), { "dropstack.node": "4" }, "node 4's labels");
      },
    );

    await after(
      "the --swarm export on four nodes: web spread over three, agent on each, gpu on the gpu node, db on the data node",
      async () => {
        notDeployed = "the stack was not deployed";
        for (const n of NODES)
          engine.docker(["exec", "-i", name(n), "docker", "load"], baseImage());
        const file = path.join(bin, "stack.yml");
        const cli = spawnSync(
          process.execPath,
          [
            path.join(project, "bin", "dropstack.js"),
            "compose",
            STACKFILE,
            "--swarm",
            "--output",
            file,
          ],
          { cwd: project, encoding: "utf8" },
        );
        if (cli.status !== 0) throw new Error(`dropstack compose --swarm: ${cli.stderr}`);
        engine.docker(["cp", file, `${name(1)}:/stack.yml`]);
        // The image is on every node and in no registry: nothing to resolve.
        onNode(1, ["stack", "deploy", "--resolve-image", "never", "-c", "/stack.yml", stack]);
        const want = { web: 3, agent: 4, gpu: 2, db: 2 };
        await waitUntil(
          "every task running",
          () => Object.entries(want).every(([svc, count]) => running(svc).length === count),
          () => onNode(1, ["stack", "ps", "--no-trunc", stack]),
          120,
        );
        const nodesOf = (svc: string) =>
          running(svc)
            .map((t) => t.node)
            .sort();
        expectEqual(new Set(nodesOf("web")).size, 3, "nodes web's 3 replicas run on");
        expectEqual(nodesOf("agent"), NODES.map(name), "nodes of agent (every_node)");
        expectEqual(nodesOf("gpu"), [name(2), name(2)], "nodes of gpu (tags: gpu)");
        expectEqual(nodesOf("db"), [name(1), name(1)], "nodes of db (data)");
        notDeployed = undefined;
      },
    );

    await after(
      "in a web task on another node than db's, the link names resolve to db's tasks, which answer by name over the overlay",
      () => {
        if (notDeployed !== undefined) throw new Error(`not run: ${notDeployed}`);
        const task = running("web").find((t) => t.node !== name(1));
        if (task === undefined) throw new Error("no web task runs off the data node");
        const node = NODES.find((n) => name(n) === task.node)!;
        const container = onNode(node, [
          "ps",
          "-q",
          "--filter",
          `label=com.docker.swarm.task.id=${task.id}`,
        ]).trim();
        // Names through the swarm's DNS (from its gossip, over 7946); db's tasks reached at their
        // own addresses, over VXLAN (4789/udp). A service that publishes no port resolves to its
        // tasks (endpoint_mode dnsrr): no virtual IP, which needs IPVS (this kernel has none), so
        // the link name itself reaches db.
        const script = [
          "import os, socket, urllib.request",
          'for n in ["database", "database-1", "database-2", "db", "web-3", "agent"]: socket.gethostbyname(n)',
          `ips = sorted({a[4][0] for a in socket.getaddrinfo("tasks.${stack}_db", 6000)})`,
          'named = sorted({a[4][0] for a in socket.getaddrinfo("database", 6000)})',
          "assert named == ips, (named, ips)",
          'print(len(ips), [urllib.request.urlopen(f"http://{ip}:6000/", timeout=10).status for ip in ips])',
          'print(urllib.request.urlopen("http://database-2:6000/", timeout=10).status)',
          'print(os.environ["DATABASE_PORT_6000_TCP_ADDR"], os.environ["DATABASE_2_PORT"])',
        ].join("\n");
        expectEqual(
          onNode(node, ["exec", container, "python3", "-c", script]).trim(),
          "2 [200, 200]\n200\ndatabase tcp://database-2:6000",
          `what web's task on ${task.node} sees`,
        );
      },
    );

    await after(
      "the program's bind mount: db's task is rejected while its folder is missing, runs once swarm.sh dirs made it",
      async () => {
        const spec = parseStackfile(
          fs.readFileSync(path.join(project, STACKFILE), "utf8"),
          STACKFILE,
          {
            cluster: true,
            nodeTags: ["gpu"],
          },
        ).spec;
        const db = spec.services.find((s) => s.name === "db")!;
        // As deploy/cluster.ts makes it, for a stack named team.
        const dataPath = `${DATA_MOUNT}/team`;
        const [{ mount }] = swarmMounts(db, dataPath);
        const service = `${prefix}-bind`;
        onNode(1, [
          "service",
          "create",
          "--detach",
          "--name",
          service,
          ...swarmService(db, spec.services).constraints.flatMap((c) => ["--constraint", c]),
          "--mount",
          `type=bind,source=${mount.source},target=${mount.target}`,
          "--restart-delay",
          "1s",
          BASE_IMAGE,
          ...["sh", "-c", `echo written > ${mount.target}/proof && exec sleep infinity`],
        ]);
        const states = () =>
          onNode(1, [
            "service",
            "ps",
            "--no-trunc",
            "--format",
            "{{.Node}} {{.CurrentState}} {{.Error}}",
            service,
          ]);
        await waitUntil(
          "a rejected task",
          () => /bind source path does not exist/.test(states()),
          states,
          60,
        );
        const { dataNode } = swarmBindSources(spec.services, dataPath);
        expectEqual(dataNode, [mount.source], "the folders for the data node");
        swarm("dirs", 1, {}, dataNode.map((p) => `${p}\n`).join(""));
        await waitUntil("db's task running", () => /^\S+ Running/m.test(states()), states, 60);
        expectEqual(
          engine.docker(["exec", name(1), "cat", `${mount.source}/proof`]),
          "written\n",
          `the file db wrote, at ${mount.source} on ${name(1)}`,
        );
        onNode(1, ["service", "rm", service]);
      },
    );

    await after("docker stack rm leaves no service, network or task on any node", async () => {
      onNode(1, ["stack", "rm", stack]);
      const left = () =>
        NODES.map((n) =>
          onNode(n, ["ps", "-aq", "--filter", `label=com.docker.stack.namespace=${stack}`]).trim(),
        ).join("") +
        onNode(1, ["service", "ls", "-q"]).trim() +
        onNode(1, [
          "network",
          "ls",
          "-q",
          "--filter",
          `label=com.docker.stack.namespace=${stack}`,
        ]).trim();
      await waitUntil("the stack to be gone", () => left() === "", left, 60);
    });

    await after(
      "swarm.sh leave for manager node 3: demoted, left, forgotten; the others keep their quorum",
      async () => {
        swarm("leave", 3);
        expectEqual(swarmState(3), "inactive false", `${name(3)}'s swarm state after leave`);
        await waitUntil(
          "node 3 forgotten",
          () =>
            JSON.stringify(nodeList()) ===
            JSON.stringify([
              `${name(1)} Ready Leader`,
              `${name(2)} Ready Reachable`,
              `${name(4)} Ready`,
            ]),
          () => nodeList().join("\n"),
          30,
        );
      },
    );

    await after(
      "swarm.sh leave for a node already gone (worker 4 removed) only forgets it",
      async () => {
        engine.docker(["rm", "-f", "-v", name(4)]);
        swarm("leave", 4);
        expectEqual(
          nodeList(),
          [`${name(1)} Ready Leader`, `${name(2)} Ready Reachable`],
          "the nodes node 1 lists",
        );
      },
    );
  } finally {
    // Whatever happened above, leave nothing behind: the nodes' swarm dies with them.
    cleanup();
    fs.rmSync(bin, { recursive: true, force: true });
  }
}
