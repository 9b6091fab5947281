// Benchmark (not a test): how long the program takes under Pulumi's mock engine for stacks of
// 2, 20 and 200 services, and how long the command line takes to start. Each figure is the
// median of several fresh processes, as wall time and as CPU time (user and system): on a busy
// machine the wall time says more about the machine, so compare CPU times there. Run: npm run bench
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cachedEngine, copyProject, Pulumi } from "../test/engine/pulumi-engine";

const ROOT = path.resolve(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** A Stackfile of n services: each links to up to two earlier ones and exposes a port. */
function stackfile(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(`svc${i}:`, `  image: example/app${i % 10}:1`, `  expose: ["${8000 + i}"]`);
    lines.push(
      "  environment:",
      `    - INDEX=${i}`,
      `    - SECRET_KEY=\${SVC${i}_KEY}`,
      "  volumes: [data:/data]",
    );
    const links = [i - 1, Math.floor(i / 2) - 1].filter(
      (j, k, all) => j >= 0 && all.indexOf(j) === k,
    );
    if (links.length > 0) lines.push(`  links: [${links.map((j) => `svc${j}`).join(", ")}]`);
  }
  lines.push("web:", "  image: nginx:1.27", '  ports: ["80:80"]', "  links: [svc0]");
  return lines.join("\n") + "\n";
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(file: string) {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const result = spawnSync(
      process.execPath,
      ["-r", "ts-node/register", path.join(ROOT, "scripts", "bench-run.ts"), file],
      { cwd: ROOT, encoding: "utf8" },
    );
    // The SDK may report still-pending promises at exit; the timings line is what counts.
    const line = result.stdout.trim().split("\n").pop();
    if (!line?.startsWith("{")) throw new Error(result.stderr);
    runs.push(JSON.parse(line));
  }
  const of = (key: string) => median(runs.map((r) => r[key]));
  return {
    sdkLoadMs: of("sdkLoadMs"),
    programLoadMs: of("programLoadMs"),
    evaluateMs: of("evaluateMs"),
    sdkLoadCpuMs: of("sdkLoadCpuMs"),
    programLoadCpuMs: of("programLoadCpuMs"),
    evaluateCpuMs: of("evaluateCpuMs"),
    resources: runs[0].resources,
  };
}

// The unit of /proc's CPU times (USER_HZ): 100 on Linux.
const TICKS_PER_SECOND = 100;

/** CPU time of this process's finished children, in ms (Linux: /proc/self/stat); else NaN. */
function childrenCpuMs(): number {
  try {
    // Fields after the command's name: cutime and cstime are the 14th and 15th, in clock ticks.
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** The median wall and CPU time of a command, in fresh processes, after one run to warm up. */
function timeCommand(args: string[]): { wallMs: number; cpuMs: number } {
  const times = [];
  const cpu = [];
  for (let i = 0; i <= RUNS; i++) {
    const start = process.hrtime.bigint();
    const cpuStart = childrenCpuMs();
    const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
    if (result.status !== 0) throw new Error(result.stderr);
    if (i === 0) continue;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    cpu.push(childrenCpuMs() - cpuStart);
  }
  return { wallMs: median(times), cpuMs: median(cpu) };
}

const ms = (wall: number, cpu: number) => `${wall.toFixed(0)} ms (CPU ${cpu.toFixed(0)} ms)`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-bench-"));
console.log(
  `node ${process.version}, ${os.cpus().length} cores, median of ${RUNS} fresh processes\n`,
);
console.log("wall ms (CPU ms)");
console.log(
  "services  resources     SDK load ms   program load ms       evaluate ms  evaluate ms/service",
);
const cell = (wall: number, cpu: number, width: number) =>
  `${wall.toFixed(0)} (${cpu.toFixed(0)})`.padStart(width);
for (const n of [2, 20, 200]) {
  const file = path.join(dir, `stack-${n}.yml`);
  fs.writeFileSync(file, stackfile(n));
  const m = measure(file);
  console.log(
    `${String(n + 1).padStart(8)}  ${String(m.resources).padStart(9)}  ${cell(m.sdkLoadMs, m.sdkLoadCpuMs, 14)}  ` +
      `${cell(m.programLoadMs, m.programLoadCpuMs, 16)}  ${cell(m.evaluateMs, m.evaluateCpuMs, 16)}  ` +
      `${(m.evaluateMs / (n + 1)).toFixed(2).padStart(19)}`,
  );
}
// As a user runs it, in a fresh process each time. The first run, left out, may compile the
// command line's TypeScript (bin/compiled.js keeps it, in DROPSTACK_CACHE as the user has it).
const validate = timeCommand([
  path.join(ROOT, "bin", "dropstack.js"),
  "validate",
  path.join(ROOT, "stacks", "datascience.yml"),
]);
const bare = timeCommand(["-e", "0"]);
console.log(
  `\ndropstack validate stacks/datascience.yml: ${ms(validate.wallMs, validate.cpuMs)} ` +
    `(whole process; node -e 0: ${ms(bare.wallMs, bare.cpuMs)})`,
);

// The program's start-up on every `pulumi` command: Pulumi's runtime loads index.ts through
// ts-node with tsconfig.json's options. SWC against ts-node's own TypeScript transpiler shows
// what the "swc" option buys. (The hand-written cached loader this replaced measured 0.92 s
// against 0.82 s for ts-node with SWC on the same machine, SDK included.)
const load = (swc: boolean) => [
  "-e",
  `require("ts-node").register({ swc: ${swc} }); require("./index.ts");`,
];
const swc = timeCommand(load(true));
const typescript = timeCommand(load(false));
console.log(
  `program load (index.ts and the SDK) through ts-node: ${ms(swc.wallMs, swc.cpuMs)} with SWC, ` +
    `${ms(typescript.wallMs, typescript.cpuMs)} with TypeScript's transpiler`,
);

// With the real engine (scripts/engine/build.sh has built it): the wall time of a real
// `pulumi preview` of the dev stack, which runs the engine, the language host and the program up
// to its first DigitalOcean call, against the same for an empty program: the difference is the
// program's own share of every pulumi command.
const engine = cachedEngine();
if (engine === undefined) {
  console.log("\nreal engine: not built (npm run test:engine builds it); skipped");
} else {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-bench-engine-"));
  try {
    const pulumi = new Pulumi(work, engine, "unix:///nonexistent", {
      download: false,
      dir: "",
      plugins: [],
    });
    const project = copyProject(work);
    const empty = path.join(work, "empty");
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, "Pulumi.yaml"), "name: empty\nruntime: nodejs\n");
    fs.writeFileSync(path.join(empty, "index.js"), 'require("@pulumi/pulumi");\n');
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(empty, "node_modules"));
    pulumi.ok(["stack", "init", "dev"], project);
    pulumi.ok(["stack", "init", "dev"], empty);
    const previewMs = (cwd: string) => {
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const start = process.hrtime.bigint();
        pulumi.run(["preview", "--stack", "dev"], cwd);
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return median(times);
    };
    const program = previewMs(project);
    const baseline = previewMs(empty);
    console.log(
      `\nreal engine ${engine[0].version}: pulumi preview of dev up to its first DigitalOcean call ` +
        `${program.toFixed(0)} ms; of an empty program ${baseline.toFixed(0)} ms; ` +
        `the program's share ${(program - baseline).toFixed(0)} ms`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
