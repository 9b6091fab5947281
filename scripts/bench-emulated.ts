// Benchmark (not a test): the shipped dev stack's `pulumi up` on the emulated DigitalOcean
// (test/emulator/), from `up` to a working URL, split by phase so the critical path shows: the
// program's start, the API calls before the droplet exists, its boot, cloud-init, the readiness
// check, the image build on the node, the containers, the app answering. Then a replaced droplet,
// the slowest user-felt change. Then the shipped cluster stack's first up (three nodes). Times come from the engine's event log (--event-log), the
// emulator's request log, the droplet container's start and cloud-init's own status.json. Needs
// what `npm run test:emulated` needs; says what is missing otherwise. Run by `npm run bench`.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../test/emulator/api";
import type { Emulator } from "../test/emulator/api";
import { dropletImageMissing, ensureDropletImage } from "../test/emulator/droplet-image";
import { Machines } from "../test/emulator/machines";
import { EmulatorState } from "../test/emulator/state";
import { dockerMissing, startDockerEngine } from "../test/engine/docker-engine";
import { maxConcurrent, readEventLogFile, Step } from "../test/engine/event-log";
import { ensureStandins, mongoImage, notebookBase, standinsMissing } from "../test/engine/standins";
import {
  cachedEngine,
  copyProject,
  findPlugins,
  missingPlugins,
  Pulumi,
  tail,
} from "../test/engine/pulumi-engine";
import { CADDY_IMAGE } from "../proxy/caddy";

const STACK = ["--stack", "dev"];
const CLUSTER = ["--stack", "cluster"];

interface Phase {
  what: string;
  /** Seconds from the start of `up`. */
  start: number;
  end: number;
}

async function main(): Promise<void> {
  const engineParts = cachedEngine();
  const plugins = findPlugins();
  const missing = missingPlugins(plugins, ["digitalocean", "docker", "random", "command", "tls"]);
  const why =
    engineParts === undefined
      ? "the engine is not built (npm run test:engine builds it)"
      : (dockerMissing() ??
        standinsMissing() ??
        (missing.length > 0 ? `missing plugins: ${missing.join("; ")}` : undefined));
  if (why !== undefined) {
    console.log(`\nup on the emulated DigitalOcean: skipped, ${why}`);
    return;
  }
  const log = (line: string) => console.log(`  ${line}`);
  const docker = await startDockerEngine(log);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-bench-emulated-"));
  const noImage = dropletImageMissing(docker);
  if (noImage !== undefined) {
    console.log(`\nup on the emulated DigitalOcean: skipped, ${noImage}`);
    await docker.stop();
    return;
  }
  ensureStandins(docker, log);
  ensureDropletImage(docker, log);
  const state = new EmulatorState();
  const machines = new Machines({
    engine: docker,
    state,
    work,
    images: [notebookBase(), mongoImage(), CADDY_IMAGE],
  });
  const emu = await startEmulator({ state, ...machines.hooks() });
  const pulumi = new Pulumi(work, engineParts!, docker.host, plugins);
  const project = copyProject(work);
  const env = {
    DIGITALOCEAN_API_URL: emu.url,
    DIGITALOCEAN_TOKEN: "bench",
    PULUMI_DEBUG_COMMANDS: "true",
  };
  const run = async (args: string[]) => {
    const r = await pulumi.runAsync([...args, ...STACK], project, env);
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")}:\n${tail(r.output)}`);
  };
  const up = async (label: string, args: string[] = []) => {
    const file = path.join(work, `${label}.jsonl`);
    const since = emu.requests.length;
    const start = Date.now();
    await run(["up", "--yes", "--skip-preview", "--event-log", file, ...args]);
    report(label, (Date.now() - start) / 1000, phases(file, start, emu, since, machines, state));
  };
  try {
    await run(["stack", "select", "--create"]);
    await run(["config", "set", "dropstack:tls", "internal"]);
    console.log(
      "\npulumi up of the shipped dev stack on the emulated DigitalOcean (tls internal):",
    );
    await up("first up");
    const droplet = [...state.droplets.values()][0];
    await up("replaced", ["--replace", dropletUrn(droplet.name, project, pulumi, env)]);
    await run(["destroy", "--yes"]);
    await clusterUp(pulumi, project, env, work);
  } finally {
    await pulumi.runAsync(["destroy", "--yes", ...STACK], project, env);
    await pulumi.runAsync(["destroy", "--yes", ...CLUSTER], project, env);
    await machines.stop();
    await emu.stop();
    await docker.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The shipped cluster stack's first `up` (three nodes), by phase from the event log: each node's
 * droplet and readiness, which run at once, the swarm's init and joins (managers one at a time,
 * by design), the builds on every node, the Swarm services, and the url answering.
 */
async function clusterUp(
  pulumi: Pulumi,
  project: string,
  env: NodeJS.ProcessEnv,
  work: string,
): Promise<void> {
  const run = (args: string[]) => pulumi.runAsync([...args, ...CLUSTER], project, env);
  for (const args of [
    ["stack", "select", "--create"],
    ["config", "set", "dropstack:tls", "internal"],
  ]) {
    const r = await run(args);
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")}:\n${tail(r.output)}`);
  }
  console.log("\npulumi up of the shipped cluster stack (3 nodes, tls internal):");
  const file = path.join(work, "cluster.jsonl");
  const start = Date.now();
  const r = await run(["up", "--yes", "--skip-preview", "--event-log", file]);
  const seconds = (Date.now() - start) / 1000;
  const { t0, steps } = readEventLogFile(file);
  if (r.status !== 0) throw new Error(`pulumi up (cluster):\n${tail(r.output)}`);
  const at = (s: number) => t0 + s - start / 1000;
  const done = (of: Step[]) => of.filter((s) => !s.failed && /create|replace|update/.test(s.op));
  const byType = (type: RegExp) => done(steps.filter((s) => type.test(s.type)));
  const byName = (name: RegExp) => done(steps.filter((s) => name.test(s.name)));
  const line = (what: string, of: Step[]) => {
    if (of.length === 0) return;
    const from = Math.min(...of.map((s) => at(s.start)));
    const to = Math.max(...of.map((s) => at(s.end)));
    const together = of.length > 1 ? `, ${maxConcurrent(of)} of ${of.length} at once` : "";
    console.log(
      `    ${what.padEnd(52)} ${from.toFixed(0).padStart(4)} s → ${to.toFixed(0).padStart(4)} s (${(to - from).toFixed(0)} s${together})`,
    );
  };
  const services = byType(/docker:index\/service:Service/);
  const last = Math.max(...services.map((s) => at(s.end)));
  console.log(
    `  first up: ${last.toFixed(0)} s to the last Swarm service, ${seconds.toFixed(0)} s to a working URL`,
  );
  line("droplets at the API", byType(/digitalocean:index\/droplet:Droplet/));
  line("readiness (SSH, cloud-init, volume, Docker)", byName(/^node(-\d+)?-ready$/));
  line("swarm init on the first node", byName(/^swarm-init$/));
  line("joins (managers one at a time, then workers)", byName(/^swarm-join-\d+$/));
  line("images (the notebook's built on every node)", byType(/RemoteImage$/));
  line("Swarm services", services);
  line("the url answering (the app's readiness)", byName(/^app-ready$/));
}

function dropletUrn(name: string, project: string, pulumi: Pulumi, env: NodeJS.ProcessEnv) {
  const r = pulumi.run(["stack", "export", ...STACK], project, env);
  const resources: { type: string; urn: string }[] = JSON.parse(r.stdout).deployment.resources;
  const d = resources.find((x) => x.type === "digitalocean:index/droplet:Droplet");
  if (d === undefined) throw new Error(`no droplet ${name} in the state`);
  return d.urn;
}

/** The phases of one `up` that started at `startMs`, from everything that timed it. */
function phases(
  file: string,
  startMs: number,
  emu: Emulator,
  since: number,
  machines: Machines,
  state: EmulatorState,
): Phase[] {
  const { t0, steps } = readEventLogFile(file);
  // Event times are whole seconds since t0; the rest are milliseconds since the epoch.
  const fromEvents = (s: number) => t0 + s - startMs / 1000;
  const fromEpoch = (ms: number) => (ms - startMs) / 1000;
  const span = (what: string, of: Step[]): Phase[] =>
    of.length === 0
      ? []
      : [
          {
            what,
            start: fromEvents(Math.min(...of.map((s) => s.start))),
            end: fromEvents(Math.max(...of.map((s) => s.end))),
          },
        ];
  const op = (type: RegExp, ops = /create|replace|update/) =>
    steps.filter((s) => type.test(s.type) && ops.test(s.op));
  const created = emu.requests
    .slice(since)
    .find((r) => r.method === "POST" && r.path === "/v2/droplets");
  const droplet = [...state.droplets.values()].at(-1)!;
  const started = Date.parse(machines.inspect(droplet, "{{.State.StartedAt}}"));
  // cloud-init's times are seconds since the kernel booted (the machine's, for a container).
  const [now, uptime] = machines
    .exec(droplet, "echo $(date +%s.%N) $(cut -d' ' -f1 /proc/uptime)")
    .trim()
    .split(" ")
    .map(Number);
  const ci = JSON.parse(machines.exec(droplet, "cat /var/lib/cloud/data/status.json")).v1;
  const ciDone = (now - uptime + ci["modules-final"].finished) * 1000;
  return [
    { what: "program start, to the first step", start: 0, end: fromEvents(steps[0]?.start ?? 0) },
    ...span("deletes (old droplet, containers)", op(/./, /delete/)),
    ...span("key, volume, firewall, droplet at the API", op(/digitalocean:/)),
    ...(created
      ? [
          {
            what: "droplet created → booted",
            start: fromEpoch(emu.startedAt + created.at),
            end: fromEpoch(started),
          },
        ]
      : []),
    {
      what: "boot → cloud-init done",
      start: fromEpoch(started),
      end: fromEpoch(ciDone),
    },
    ...span(
      "readiness check (SSH, cloud-init, volume, Docker)",
      op(/command:local:Command/).filter((s) => /-ready$/.test(s.name) && s.name !== "app-ready"),
    ),
    ...span("images (the notebook's built on the node)", op(/RemoteImage$/)),
    ...span("containers", op(/docker:index\/container:Container/)),
    ...span(
      "app answers over HTTPS",
      op(/command:local:Command/).filter((s) => s.name === "app-ready"),
    ),
  ];
}

function report(label: string, seconds: number, list: Phase[]): void {
  console.log(`  ${label}: ${seconds.toFixed(0)} s to a working URL`);
  for (const p of list)
    console.log(
      `    ${p.what.padEnd(52)} ${p.start.toFixed(0).padStart(4)} s → ${p.end.toFixed(0).padStart(4)} s (${(p.end - p.start).toFixed(0)} s)`,
    );
}

main().catch((e) => {
  console.error(`bench-emulated: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
