// Clusters for real (`npm run test:emulated`): the shipped cluster stack (three nodes, Docker
// Swarm) with the real plugins on emulated droplets. The swarm formed by `up` over each node's
// pinned SSH, the services where the Stackfile puts them, the url at the first node's address
// (the proxy publishes there, not through the routing mesh), Swarm's ports inside the VPC only,
// a second up with no changes, one service's edit, the first node replaced, shrinking to one
// node and growing back to three, destroy.
import * as fs from "fs";
import * as path from "path";
import { DATA_MOUNT } from "../../cloud-init";
import { managerCount } from "../../components/swarm";
import type { Machines } from "../emulator/machines";
import { expectEqual, waitUntil } from "./checks";
import type { Check } from "./checks";
import { failure, startEmulated } from "./emulated-checks";
import type { Emulated } from "./emulated-checks";
import type { DockerEngine } from "./docker-engine";
import type { Pulumi } from "./pulumi-engine";
import { answers } from "./emulated-node-checks";
import { dropletUrn, leftAtApi, urlLogsIn } from "./emulated-lifecycle-checks";
import { httpRequest } from "../servers";
import { FORWARDED_PORTS } from "../emulator/ports";
import type { DropletRecord } from "../emulator/state";

/** Whether `to`:port answers a TCP connection made from inside droplet `from`. */
function answersFrom(machines: Machines, from: DropletRecord, to: string, port: number): boolean {
  const probe = `timeout 5 bash -c 'echo > /dev/tcp/${to}/${port}' 2> /dev/null && echo yes || echo no`;
  return machines.exec(from, probe).trim() === "yes";
}

export async function emulatedClusterChecks(
  pulumi: Pulumi,
  engine: DockerEngine,
  project: string,
  check: Check,
  gate: Check,
  notRunHere: string[],
): Promise<void> {
  const t = await startEmulated(pulumi, engine, project, "cluster");
  try {
    await clusterChecks(t, check, gate, notRunHere);
  } finally {
    await t.stop();
  }
}

/**
 * Whether this machine's kernel has IPVS, which Swarm's routing mesh (a Stackfile's published
 * ports on a cluster) needs; a droplet's kernel has it.
 */
export function hasIpvs(): boolean {
  return fs.existsSync("/proc/sys/net/ipv4/vs");
}

/** The droplets by node number: the first node keeps the stack's name, then -2, -3, ... */
function nodes(t: Emulated): DropletRecord[] {
  const number = (d: DropletRecord) => Number(/-(\d+)$/.exec(d.name)?.[1] ?? 1);
  return [...t.state.droplets.values()].sort((a, b) => number(a) - number(b));
}

/** The resources a preview would change, as `op name`, from `preview --json`. */
function planned(json: string): string[] {
  const steps: { op: string; urn: string }[] = JSON.parse(json).steps ?? [];
  return steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);
}

async function clusterChecks(
  t: Emulated,
  check: Check,
  gate: Check,
  notRunHere: string[],
): Promise<void> {
  // The stack's own traffic needs no IPVS (the proxy publishes on its node, services resolve
  // to their tasks), which this machine's kernel may lack: only a Stackfile's published ports
  // go through Swarm's routing mesh, and the shipped stack publishes none but the proxy's.
  if (!hasIpvs())
    notRunHere.push(
      "a cluster service's own published ports (Swarm's routing mesh): this machine's kernel " +
        "has no IPVS (/proc/sys/net/ipv4/vs); the shipped stack publishes none",
    );
  /** An up that must succeed, url included; the engine's output. */
  const up = async (args: string[] = []): Promise<string> => {
    const r = await t.pulumi(["up", "--yes", "--skip-preview", ...args]);
    if (r.status !== 0) throw new Error(`up failed:\n${failure(r.output)}`);
    return r.output;
  };

  await gate(
    "pulumi up of the shipped cluster stack (3 nodes, tls internal) boots three droplets, forms the swarm and starts the services",
    async () => {
      await t.ok(["stack", "select", "--create"]);
      await t.ok(["config", "set", "dropstack:tls", "internal"]);
      await up();
      expectEqual(nodes(t).length, 3, "droplets at the API");
      t.machines.exec(nodes(t)[0], `echo kept > ${MARKER}`);
    },
  );

  await check(`the swarm has the three nodes, ${managerCount(3)} of them managers`, () =>
    expectSwarm(t),
  );

  await check("the data services and the proxy run on the first node, where the volume is", () =>
    expectOnFirstNode(t),
  );

  await check(
    "Swarm's ports answer inside the VPC; from outside only 22, 80 and 443 may",
    async () => {
      const [first, second] = nodes(t);
      for (const port of [2377, 7946])
        expectEqual(
          answersFrom(t.machines, second, first.privateIpv4!, port),
          true,
          `${port} in the VPC`,
        );
      for (const d of nodes(t)) {
        const open: number[] = [];
        for (const port of FORWARDED_PORTS) if (await answers(d.publicIpv4!, port)) open.push(port);
        const extra = open.filter((p) => ![22, 80, 443].includes(p));
        expectEqual(extra, [], `ports other than 22, 80 and 443 answering at ${d.publicIpv4}`);
        if (!open.includes(22)) throw new Error(`SSH does not answer at ${d.publicIpv4}`);
      }
    },
  );

  await check(
    "the url answers at the first node's address, the proxy's, and logs in; the other nodes publish nothing",
    async () => {
      const [first, ...others] = nodes(t);
      await urlLogsIn(t, first);
      const r = await httpRequest(`http://${first.publicIpv4}/`);
      if (r.status < 300 || r.status >= 400)
        throw new Error(
          `http://${first.publicIpv4}/ answered ${r.status}, not a redirect to HTTPS`,
        );
      for (const d of others)
        for (const port of [80, 443])
          expectEqual(
            await answers(d.publicIpv4!, port),
            false,
            `${d.publicIpv4}:${port} answering`,
          );
    },
  );

  await check("a second up of the cluster changes nothing", async () => {
    const r = await t.pulumi(["preview", "--json"]);
    expectEqual(planned(r.output), [], "what a second up would do");
  });

  await editChecks(t, check, up);
  await placementCheck(t, check, up);
  // The replacement first: its old build's delete once removed the new droplet's tag, which
  // the shrink and the grow then need (each checks it is there).
  await replaceChecks(t, check, up);
  await shrinkAndGrowChecks(t, check, up);

  await check("destroy of the cluster leaves only the retained data volume", async () => {
    await t.ok(["destroy", "--yes"]);
    expectEqual(
      {
        droplets: t.state.droplets.size,
        firewalls: t.state.firewalls.size,
        keys: t.state.sshKeys.size,
        volumes: t.state.volumes.size,
      },
      { droplets: 0, firewalls: 0, keys: 0, volumes: 1 },
      "at the API",
    );
  });
}

/** The first node's volume: a file written after the first up, read after each change. */
const MARKER = `${DATA_MOUNT}/dropstack-emulated-marker`;

function marker(t: Emulated): string {
  return t.machines.exec(nodes(t)[0], `cat ${MARKER} 2>&1 || true`).trim();
}

/** `docker node ls` on the first node: every droplet Ready, the managers the README promises. */
function expectSwarm(t: Emulated): void {
  const listed = t.machines
    .exec(
      nodes(t)[0],
      "docker node ls --format '{{.Hostname}} {{.Status}} {{if .ManagerStatus}}manager{{else}}worker{{end}}'",
    )
    .trim()
    .split("\n")
    .sort();
  const count = nodes(t).length;
  expectEqual(
    listed,
    nodes(t)
      .map((d, i) => `${d.name} Ready ${i < managerCount(count) ? "manager" : "worker"}`)
      .sort(),
    "docker node ls",
  );
}

/**
 * Mongo, the notebook and the proxy run on the first node, where the data volume is: within a
 * minute (Swarm starts a task a little after `up` has made its service).
 */
async function expectOnFirstNode(t: Emulated): Promise<void> {
  const [first] = nodes(t);
  const tasks = () =>
    t.machines.exec(
      first,
      "docker service ls -q | xargs -n1 docker service ps --filter desired-state=running --format '{{.Name}} {{.Node}} {{.CurrentState}}'",
    );
  const notRunning = () =>
    ["mongo", "datascience", "proxy"].filter((service) => {
      const line = tasks()
        .split("\n")
        .find((l) => l.startsWith(`dropstack-cluster-${service}.`));
      return line === undefined || !line.includes(` ${first.name} Running`);
    });
  await waitUntil(
    `Mongo, the notebook and the proxy running on ${first.name}`,
    () => notRunning().length === 0,
    () =>
      t.machines.exec(
        first,
        "docker service ls; for s in $(docker service ls -q); do docker service ps --no-trunc --format '{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}' $s | head -5; done",
      ),
    60,
    5,
  );
}

/**
 * The notebook's built image is on the first node under its tag, which its Swarm service names:
 * without the tag, Swarm cannot start the service's task again (a restart, a reboot, a grown
 * cluster) where a container already running from it would hide the loss.
 */
function expectBuiltImage(t: Emulated, when: string): void {
  const [first] = nodes(t);
  const tags = t.machines
    .exec(first, "docker image ls --format '{{.Repository}}:{{.Tag}}' dropstack/datascience")
    .trim();
  if (!/^dropstack\/datascience:[0-9a-f]{12}$/m.test(tags))
    throw new Error(
      `${when}, the first node has no dropstack/datascience image by its tag: ${JSON.stringify(tags)}`,
    );
}

/** Each Swarm service's spec version, by service name, read on the first node. */
function serviceVersions(t: Emulated): Record<string, string> {
  const lines = t.machines
    .exec(
      nodes(t)[0],
      "docker service ls -q | xargs docker service inspect --format '{{.Spec.Name}} {{.Version.Index}}'",
    )
    .trim()
    .split("\n");
  return Object.fromEntries(lines.map((l) => l.split(" ")));
}

type Up = (args?: string[]) => Promise<string>;

/** One service's environment edited in the Stackfile: that service is updated, no other. */
async function editChecks(t: Emulated, check: Check, up: Up): Promise<void> {
  await check("an edit of one service's environment updates that service only", async () => {
    const project = t.project;
    const shipped = fs.readFileSync(path.join(project, "stacks", "datascience.yml"), "utf8");
    const edited = shipped.replace(
      "    - CHOWN_EXTRA=/home/jovyan/work\n",
      "    - CHOWN_EXTRA=/home/jovyan/work\n    - DROPSTACK_CHECK=edited\n",
    );
    if (edited === shipped)
      throw new Error("the shipped Stackfile has no CHOWN_EXTRA line to edit");
    fs.writeFileSync(path.join(project, "stacks", "edited.yml"), edited);
    await t.ok(["config", "set", "dropstack:stackfile", "stacks/edited.yml"]);
    const preview = await t.pulumi(["preview", "--json"]);
    expectEqual(
      planned(preview.output),
      ["update stack-datascience"],
      "what the edit's up would do",
    );
    const before = serviceVersions(t);
    await up();
    const after = serviceVersions(t);
    const changed = Object.keys(after).filter((s) => after[s] !== before[s]);
    expectEqual(changed, ["dropstack-cluster-datascience"], "the services whose spec changed");
    const env = t.machines.exec(
      nodes(t)[0],
      "docker service inspect --format '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' dropstack-cluster-datascience",
    );
    if (!env.includes("DROPSTACK_CHECK=edited"))
      throw new Error(`the notebook service's environment lacks the edit: ${env}`);
  });
}

/**
 * Services added to the edited Stackfile, each running `sleep` in the notebook's base image:
 * `target_num_containers: 3` runs three tasks, `every_node` one on each node, `tags: [gpu]` on
 * the node nodeTags gives that tag. Then taken out again: the next up deletes them.
 */
async function placementCheck(t: Emulated, check: Check, up: Up): Promise<void> {
  await check(
    "target_num_containers, every_node and tags (nodeTags) place the tasks as the Stackfile asks",
    async () => {
      const stacks = path.join(t.project, "stacks");
      // The notebook's base (on every droplet: no registry here), which declares no volumes: an
      // image that does is kept on the data node, and so runs there only.
      const image = /^FROM\s+(\S+)/m.exec(
        fs.readFileSync(path.join(t.project, "images", "datascience", "Dockerfile"), "utf8"),
      )![1];
      const sleeper = `  image: ${image}\n  entrypoint: sleep\n  command: infinity\n`;
      fs.writeFileSync(
        path.join(stacks, "placed.yml"),
        fs.readFileSync(path.join(stacks, "edited.yml"), "utf8") +
          `\nworker:\n${sleeper}  target_num_containers: 3\n` +
          `agent:\n${sleeper}  deployment_strategy: every_node\n` +
          `gpu:\n${sleeper}  tags:\n    - gpu\n`,
      );
      await t.ok(["config", "set", "dropstack:nodeTags", '{"3": ["gpu"]}']);
      await t.ok(["config", "set", "dropstack:stackfile", "stacks/placed.yml"]);
      await up();
      const names = nodes(t).map((d) => d.name);
      /** The nodes running service `svc`'s tasks, sorted. */
      const running = (svc: string) =>
        t.machines
          .exec(
            nodes(t)[0],
            `docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' dropstack-cluster-${svc}`,
          )
          .trim()
          .split("\n")
          .filter((l) => / Running /.test(` ${l} `))
          .map((l) => l.split(" ")[0])
          .sort();
      const placed = () => ({
        worker: running("worker").length,
        agent: running("agent"),
        gpu: running("gpu"),
      });
      const expected = { worker: 3, agent: [...names].sort(), gpu: [names[2]] };
      await waitUntil(
        `the tasks on ${JSON.stringify(expected)}`,
        () => JSON.stringify(placed()) === JSON.stringify(expected),
        () => JSON.stringify(placed()),
        120,
        2,
      );
      await t.ok(["config", "set", "dropstack:stackfile", "stacks/edited.yml"]);
      await t.ok(["config", "rm", "dropstack:nodeTags"]);
      await up();
      const left = t.machines.exec(nodes(t)[0], "docker service ls --format '{{.Name}}'");
      for (const svc of ["worker", "agent", "gpu"])
        if (left.includes(`dropstack-cluster-${svc}`))
          throw new Error(`the removed service ${svc} still runs: ${left}`);
      expectEqual(
        planned((await t.pulumi(["preview", "--json"])).output),
        [],
        "what a next up would do",
      );
    },
  );
}

/**
 * The first node replaced (up --replace of its droplet): the new droplet gets the volume and its
 * data, inits a new swarm, and the other two leave the old one and join it.
 */
async function replaceChecks(t: Emulated, check: Check, up: Up): Promise<void> {
  await check(
    "a replaced first node gets the volume and its data, and the others rejoin its new swarm",
    async () => {
      const [before, ...others] = nodes(t);
      await up(["--replace", await dropletUrn(t)]);
      const [after, ...othersAfter] = nodes(t);
      if (after.id === before.id) throw new Error("the first node was not replaced");
      expectEqual(
        othersAfter.map((d) => d.id),
        others.map((d) => d.id),
        "the other nodes' droplets (kept)",
      );
      expectEqual(marker(t), "kept", `${MARKER} on the new first node`);
      expectBuiltImage(t, "after the first node's replacement");
      expectSwarm(t);
      await expectOnFirstNode(t);
      await urlLogsIn(t, after);
    },
  );
}

/**
 * nodes 3 to 1: the two droplets go, leaving no stale swarm member, and the stack runs on the
 * first node as a single node; then 1 to 3: the first droplet is kept, its address and its data.
 */
async function shrinkAndGrowChecks(t: Emulated, check: Check, up: Up): Promise<void> {
  await check(
    "shrinking 3 to 1 node leaves one droplet, no other swarm member, nothing more at the API; the url answers",
    async () => {
      const [first] = nodes(t);
      await t.ok(["config", "set", "dropstack:nodes", "1"]);
      await up();
      expectEqual(
        nodes(t).map((d) => d.id),
        [first.id],
        "droplets at the API",
      );
      expectEqual(leftAtApi(t), { droplets: 1, firewalls: 1, keys: 1, volumes: 1 }, "at the API");
      const members = t.machines
        .exec(first, "docker node ls --format '{{.Hostname}}' 2>&1 || true")
        .trim();
      if (members.includes(`${first.name}-`))
        throw new Error(`the removed nodes are still swarm members: ${members}`);
      expectEqual(marker(t), "kept", `${MARKER} after shrinking`);
      expectBuiltImage(t, "after shrinking");
      await urlLogsIn(t);
      // The node's built image is the cluster's first node's, kept: nothing to build again.
      await t.ok(["preview", "--expect-no-changes"]);
    },
  );

  await check(
    "growing 1 to 3 nodes keeps the first droplet, its address and its data, and forms the swarm",
    async () => {
      const [first] = nodes(t);
      await t.ok(["config", "set", "dropstack:nodes", "3"]);
      await up();
      const [kept] = nodes(t);
      expectEqual(
        { id: kept.id, address: kept.publicIpv4 },
        { id: first.id, address: first.publicIpv4 },
        "the first droplet",
      );
      expectEqual(nodes(t).length, 3, "droplets at the API");
      expectEqual(marker(t), "kept", `${MARKER} after growing`);
      expectBuiltImage(t, "after growing");
      expectSwarm(t);
      await expectOnFirstNode(t);
      await urlLogsIn(t, kept);
      // What is left: nothing, the single node's containers and the like deleted by that up.
      expectEqual(
        planned((await t.pulumi(["preview", "--json"])).output),
        [],
        "what a second up would do",
      );
    },
  );
}
