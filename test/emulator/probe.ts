// The real Pulumi CLI and the real DigitalOcean provider plugin against the emulated API:
// `preview`, `up` (expected to stop at the readiness step, which SSHes to a droplet nothing
// answers for yet), a refreshing preview that shows whether what the provider reads back
// round-trips, and `destroy`; prints the calls the provider made, what the emulator then holds,
// and any call it had no route for.
//
//   npx ts-node test/emulator/probe.ts [--stack dev] [--config KEY=VALUE]... [--domain ZONE]
//                                      [--update KEY=VALUE]... [--readopt] [--keep]
//
// --config sets stack config (dropstack:manageDns=true); --domain adds a zone to the emulated
// account first; --update sets config after the first up and runs up again (a resize:
// dropstack:size=s-4vcpu-8gb, dropstack:volumeSize=20); --readopt, when destroy kept the data volume, sets dropstack:dataVolumeId to it
// and runs up and destroy again (the adoption path, an import of the volume).
//
// Needs the engine scripts/engine/build.sh caches and the plugins in ~/.cache/dropstack/plugins
// (or DROPSTACK_ENGINE_PLUGINS). Everything runs on loopback: the provider's API is the
// emulator on 127.0.0.1, droplets get 127.0.0.N addresses.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  cachedEngine,
  copyProject,
  findPlugins,
  missingPlugins,
  PROVIDERS,
  Pulumi,
  tail,
} from "../engine/pulumi-engine";
import { addDomain, Emulator, RecordedRequest, startEmulator } from "./api";
import { digitalOceanChanges } from "./changes";

const args = process.argv.slice(2);
const STACK = args.includes("--stack") ? args[args.indexOf("--stack") + 1] : "dev";
const KEEP = args.includes("--keep");
const READOPT = args.includes("--readopt");
const CONFIG = args.flatMap((a, i) => (a === "--config" ? [args[i + 1]] : []));
const UPDATES = args.flatMap((a, i) => (a === "--update" ? [args[i + 1]] : []));
const DOMAINS = args.flatMap((a, i) => (a === "--domain" ? [args[i + 1]] : []));

const out = (line = "") => process.stdout.write(`${line}\n`);

/** A route with its IDs taken out: /v2/droplets/:id/actions/:id. */
function routeOf(r: RecordedRequest): string {
  const p = r.path
    .split("/")
    .map((s) =>
      /^\d+$/.test(s) || /^[0-9a-f-]{36}$/.test(s) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/.test(s)
        ? ":id"
        : s,
    )
    .join("/");
  const q = Object.keys(r.query).sort().join("&");
  return `${r.method} ${p}${q ? `?${q}` : ""}`;
}

/** A body for printing: long strings (user_data, keys) cut short. */
function shortBody(body: unknown): string {
  return JSON.stringify(body, (_, v) =>
    typeof v === "string" && v.length > 60 ? `${v.slice(0, 40)}…(${v.length} chars)` : v,
  );
}

function printRequests(requests: RecordedRequest[]): void {
  const groups = new Map<string, RecordedRequest[]>();
  for (const r of requests) {
    const key = routeOf(r);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [route, rs] of groups) {
    const statuses = [...new Set(rs.map((r) => r.status))].join(",");
    out(`    ${String(rs.length).padStart(3)} × ${route} → ${statuses}`);
    for (const r of rs.filter((x) => x.method !== "GET" && x.body !== undefined))
      out(`          ${shortBody(r.body)}`);
  }
}

function printState(emu: Emulator): void {
  const s = emu.state;
  out(`  droplets: ${s.droplets.size}`);
  for (const d of s.droplets.values())
    out(
      `    ${d.id} ${d.name} ${d.region} ${d.size} ${d.status} public=${d.publicIpv4} private=${d.privateIpv4} volumes=${d.volumeIds.join(",")} tags=${d.tags.join(",")} keys=${d.sshKeys.map((k) => k.name).join(",")} user_data=${d.userData.length} bytes`,
    );
  out(`  volumes: ${s.volumes.size}`);
  for (const v of s.volumes.values())
    out(
      `    ${v.id} ${v.name} ${v.region} ${v.sizeGigabytes} GiB ${v.filesystemType} droplets=${v.dropletIds.join(",")}`,
    );
  out(`  ssh keys: ${s.sshKeys.size}`);
  for (const k of s.sshKeys.values()) out(`    ${k.id} ${k.name} ${k.fingerprint}`);
  out(`  firewalls: ${s.firewalls.size}`);
  for (const f of s.firewalls.values())
    out(
      `    ${f.id} ${f.name} droplets=${f.dropletIds.join(",")} inbound=${f.inbound.map((r) => `${r.protocol}/${r.ports}`).join(",")} outbound=${f.outbound.map((r) => `${r.protocol}/${r.ports}`).join(",")}`,
    );
  out(
    `  tags: ${[...s.tags].join(", ")}; vpcs: ${[...s.vpcs.values()].map((v) => v.name).join(", ")}`,
  );
  out(`  DNS records: ${s.records.size}`);
  if (s.problems.length > 0) out(`  problems: ${JSON.stringify(s.problems)}`);
}

function reportChanges(previewOutput: string): void {
  const changes = digitalOceanChanges(previewOutput);
  out(
    changes.length === 0
      ? "  DigitalOcean resources: no changes after a refresh"
      : `  DigitalOcean resources that would change:\n${changes.map((c) => `    ${c}`).join("\n")}`,
  );
}

async function main(): Promise<number> {
  const parts = cachedEngine();
  if (parts === undefined) {
    out("probe: no cached engine; run scripts/engine/build.sh first");
    return 2;
  }
  const plugins = findPlugins();
  const missing = missingPlugins(plugins, PROVIDERS);
  if (missing.length > 0) {
    out(`probe: plugins missing: ${missing.join("; ")}`);
    return 2;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-probe-"));
  const logFile = path.join(os.tmpdir(), `dropstack-probe-${Date.now()}.log`);
  out(`probe: stack ${STACK}, work ${work}, full output in ${logFile}`);
  // No Docker engine is needed: nothing gets past the readiness step.
  const pulumi = new Pulumi(work, parts, "unix:///nonexistent/docker.sock", plugins);
  const project = copyProject(work);
  const emu = await startEmulator();
  for (const zone of DOMAINS) addDomain(emu.state, zone);
  out(`emulator: ${emu.url}`);
  const env = { DIGITALOCEAN_API_URL: emu.url, DIGITALOCEAN_TOKEN: "probe-token" };
  const run = (argv: string[]) => {
    fs.appendFileSync(logFile, `\n$ pulumi ${argv.join(" ")}\n`);
    return pulumi.runAsync(argv, project, env, (chunk) => fs.appendFileSync(logFile, chunk));
  };
  const stack = ["--stack", STACK];
  let seen = 0;
  const phase = async (name: string, argv: string[]) => {
    const started = Date.now();
    const r = await run(argv);
    out();
    out(`== ${name}: exit ${r.status} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    out(tail(r.output, 25).replace(/^/gm, "  | "));
    out(`  requests (${emu.requests.length - seen}):`);
    printRequests(emu.requests.slice(seen));
    seen = emu.requests.length;
    return r;
  };

  try {
    await run(["stack", "init", STACK]);
    await run(["config", "set", "dropstack:readinessTimeoutMinutes", "1", ...stack]);
    const setConfig = async (pairs: string[]) => {
      for (const kv of pairs) {
        const [key, ...value] = kv.split("=");
        await run(["config", "set", key, value.join("="), ...stack]);
      }
    };
    await setConfig(CONFIG);
    await phase("preview", ["preview", ...stack]);
    await phase("up", ["up", "--yes", "--skip-preview", ...stack]);
    out();
    out("== after up, the emulator holds:");
    printState(emu);
    const check = await phase("preview --refresh --json (round trip)", [
      "preview",
      "--refresh",
      "--json",
      ...stack,
    ]);
    reportChanges(check.output);
    if (UPDATES.length > 0) {
      await setConfig(UPDATES);
      await phase(`up after ${UPDATES.join(", ")}`, ["up", "--yes", "--skip-preview", ...stack]);
      out();
      out("== after the update, the emulator holds:");
      printState(emu);
      const updated = await phase("preview --refresh --json (round trip, after the update)", [
        "preview",
        "--refresh",
        "--json",
        ...stack,
      ]);
      reportChanges(updated.output);
    }
    await phase("destroy", ["destroy", "--yes", ...stack]);
    out();
    out("== after destroy, the emulator holds:");
    printState(emu);
    const kept = [...emu.state.volumes.values()];
    if (READOPT && kept.length === 1) {
      await run(["config", "set", "dropstack:dataVolumeId", kept[0].id, ...stack]);
      await phase("up, adopting the kept volume", ["up", "--yes", "--skip-preview", ...stack]);
      out();
      out("== after the second up, the emulator holds:");
      printState(emu);
      const again = await phase("preview --refresh --json (round trip, adopted volume)", [
        "preview",
        "--refresh",
        "--json",
        ...stack,
      ]);
      reportChanges(again.output);
      await phase("destroy again", ["destroy", "--yes", ...stack]);
      out();
      out("== after the second destroy, the emulator holds:");
      printState(emu);
    }
  } finally {
    out();
    out(`unknown calls: ${emu.unknown.length}`);
    for (const u of emu.unknown) out(`  ${u.method} ${u.path} ${shortBody(u.body)}`);
    await emu.stop();
    const killed = await pulumi.killSurvivors();
    if (killed.length > 0) out(`killed leftover processes: ${killed.join(", ")}`);
    if (!KEEP) fs.rmSync(work, { recursive: true, force: true });
  }
  return emu.unknown.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    out(`probe failed: ${e instanceof Error ? (e.stack ?? e.message) : e}`);
    process.exit(1);
  },
);
