// Clusters for real (`npm run test:emulated`): the shipped cluster stack (three nodes, Docker
// Swarm) with the real plugins on emulated droplets. The swarm formed by `up` over each node's
// pinned SSH, the services where the Stackfile puts them, the routing mesh on every node's
// address, Swarm's ports inside the VPC only, a second up with no changes, destroy.
import { managerCount } from "../../components/swarm";
import type { Machines } from "../emulator/machines";
import { expectEqual } from "./checks";
import type { Check } from "./checks";
import { startEmulated } from "./emulated-checks";
import type { Emulated } from "./emulated-checks";
import type { DockerEngine } from "./docker-engine";
import type { Pulumi } from "./pulumi-engine";
import { answers } from "./emulated-node-checks";
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
): Promise<void> {
  const t = await startEmulated(pulumi, engine, project, "cluster");
  try {
    await clusterChecks(t, check, gate);
  } finally {
    await t.stop();
  }
}

async function clusterChecks(t: Emulated, check: Check, gate: Check): Promise<void> {
  const droplets = () => [...t.state.droplets.values()].sort((a, b) => a.id - b.id);
  await gate(
    "pulumi up of the shipped cluster stack (3 nodes, tls internal) boots three droplets and forms the swarm",
    async () => {
      await t.ok(["stack", "select", "--create"]);
      await t.ok(["config", "set", "dropstack:tls", "internal"]);
      await t.ok(["up", "--yes", "--skip-preview"]);
      expectEqual(droplets().length, 3, "droplets at the API");
    },
  );

  await check(
    `the swarm has the three nodes, ${managerCount(3)} of them managers, labelled by number`,
    () => {
      const [first] = droplets();
      const nodes = t.machines
        .exec(
          first,
          "docker node ls --format '{{.Hostname}} {{.Status}} {{if .ManagerStatus}}manager{{else}}worker{{end}}'",
        )
        .trim()
        .split("\n")
        .sort();
      expectEqual(
        nodes,
        droplets()
          .map((d) => d.name)
          .sort()
          .map((name, i) => `${name} Ready ${i < managerCount(3) ? "manager" : "worker"}`),
        "docker node ls",
      );
    },
  );

  await check("the data services run on the first node, where the volume is", () => {
    const [first] = droplets();
    const tasks = t.machines
      .exec(
        first,
        "docker service ps -q --filter desired-state=running $(docker service ls -q) | xargs docker inspect --format '{{.ServiceID}} {{.NodeID}}'",
      )
      .trim();
    const self = t.machines.exec(first, "docker info --format '{{.Swarm.NodeID}}'").trim();
    const names = t.machines
      .exec(first, "docker service ls --format '{{.ID}} {{.Name}}'")
      .trim()
      .split("\n")
      .map((line) => line.split(" "));
    const nodeOf = (service: RegExp) => {
      const id = names.find(([, name]) => service.test(name))?.[0];
      const line = tasks.split("\n").find((l) => id !== undefined && l.startsWith(id.slice(0, 12)));
      return line?.split(" ")[1];
    };
    for (const service of [/mongo/, /datascience/, /proxy/])
      expectEqual(nodeOf(service), self, `the node of ${service.source}'s task`);
  });

  await check("the routing mesh answers on every node's address; nothing else does", async () => {
    for (const d of droplets()) {
      const r = await httpRequest(`http://${d.publicIpv4}/`);
      if (r.status < 300 || r.status >= 400)
        throw new Error(`http://${d.publicIpv4}/ answered ${r.status}, not a redirect to HTTPS`);
      const open: number[] = [];
      for (const port of FORWARDED_PORTS) if (await answers(d.publicIpv4!, port)) open.push(port);
      expectEqual(open, [22, 80, 443], `ports answering at ${d.publicIpv4}`);
    }
  });

  await check("Swarm's ports answer inside the VPC, from the cluster's droplets", () => {
    const [first, second] = droplets();
    for (const port of [2377, 7946])
      expectEqual(answersFrom(t.machines, second, first.privateIpv4!, port), true, `${port}`);
  });

  await check("a second up of the cluster changes nothing", async () => {
    await t.ok(["preview", "--expect-no-changes"]);
  });

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
