// Clusters for real (`npm run test:emulated`): the shipped cluster stack (three nodes, Docker
// Swarm) with the real plugins on emulated droplets. The swarm formed by `up` over each node's
// pinned SSH, the services where the Stackfile puts them, the routing mesh on every node's
// address, Swarm's ports inside the VPC only, a second up with no changes, destroy.
import * as fs from "fs";
import { managerCount } from "../../components/swarm";
import type { Machines } from "../emulator/machines";
import { expectEqual } from "./checks";
import type { Check } from "./checks";
import { startEmulated } from "./emulated-checks";
import type { Emulated } from "./emulated-checks";
import type { DockerEngine } from "./docker-engine";
import type { Pulumi } from "./pulumi-engine";
import { tail } from "./pulumi-engine";
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
 * Whether this machine's kernel has IPVS, which Swarm's routing mesh (ingress) and service VIPs
 * need; a droplet's kernel has it. Without it, published ports answer on no node.
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
  const ipvs = hasIpvs();
  if (!ipvs)
    notRunHere.push(
      "the cluster's routing mesh and its url: this machine's kernel has no IPVS " +
        "(/proc/sys/net/ipv4/vs), which Swarm's published ports need, so up's last step " +
        "(the url answering) is expected to fail here and the checks below stop short of it",
    );
  await gate(
    "pulumi up of the shipped cluster stack (3 nodes, tls internal) boots three droplets, forms the swarm and starts the services",
    async () => {
      await t.ok(["stack", "select", "--create"]);
      await t.ok(["config", "set", "dropstack:tls", "internal"]);
      // The url cannot answer here: wait for it less long, yet long enough for three boots.
      if (!ipvs) await t.ok(["config", "set", "dropstack:readinessTimeoutMinutes", "4"]);
      const r = await t.pulumi(["up", "--yes", "--skip-preview"]);
      const failed = [...r.output.matchAll(/^ {2}(\S+) \((\S+)\):\n {4}error:/gm)].map((m) => m[2]);
      const expected = ipvs ? [] : ["app-ready"];
      if (
        JSON.stringify(failed.filter((f) => f !== "dropstack-cluster")) !== JSON.stringify(expected)
      )
        throw new Error(`up's failed steps: ${failed.join(", ") || "none"}:\n${tail(r.output)}`);
      expectEqual(nodes(t).length, 3, "droplets at the API");
    },
  );

  await check(`the swarm has the three nodes, ${managerCount(3)} of them managers`, () => {
    const listed = t.machines
      .exec(
        nodes(t)[0],
        "docker node ls --format '{{.Hostname}} {{.Status}} {{if .ManagerStatus}}manager{{else}}worker{{end}}'",
      )
      .trim()
      .split("\n")
      .sort();
    expectEqual(
      listed,
      nodes(t)
        .map((d, i) => `${d.name} Ready ${i < managerCount(3) ? "manager" : "worker"}`)
        .sort(),
      "docker node ls",
    );
  });

  await check("the data services and the proxy run on the first node, where the volume is", () => {
    const [first] = nodes(t);
    const running = t.machines.exec(
      first,
      "docker service ls -q | xargs -n1 docker service ps --filter desired-state=running --format '{{.Name}} {{.Node}} {{.CurrentState}}'",
    );
    for (const service of ["mongo", "datascience", "proxy"]) {
      const line = running.split("\n").find((l) => l.startsWith(`dropstack-cluster-${service}.`));
      if (line === undefined || !line.includes(` ${first.name} Running`))
        throw new Error(`${service} is not running on ${first.name}:\n${running}`);
    }
  });

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

  if (ipvs)
    await check("the routing mesh answers on every node's address", async () => {
      for (const d of nodes(t)) {
        const r = await httpRequest(`http://${d.publicIpv4}/`);
        if (r.status < 300 || r.status >= 400)
          throw new Error(`http://${d.publicIpv4}/ answered ${r.status}, not a redirect to HTTPS`);
      }
    });

  await check(
    "a second up of the cluster changes nothing (but the url's check, without IPVS)",
    async () => {
      const r = await t.pulumi(["preview", "--json"]);
      expectEqual(planned(r.output), ipvs ? [] : ["create app-ready"], "what a second up would do");
    },
  );

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
