// Benchmark (not a test): how long the program takes under Pulumi's mock engine for stacks of
// 2, 20 and 200 services, and how long the command line takes to start. Each figure is the
// median of several fresh processes. Run: npm run bench
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
  const runs = [];
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
  return {
    sdkLoadMs: median(runs.map((r) => r.sdkLoadMs)),
    programLoadMs: median(runs.map((r) => r.programLoadMs)),
    evaluateMs: median(runs.map((r) => r.evaluateMs)),
    resources: runs[0].resources,
  };
}

function timeCommand(args: string[]): number {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
    if (result.status !== 0) throw new Error(result.stderr);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-bench-"));
console.log(
  `node ${process.version}, ${os.cpus().length} cores, median of ${RUNS} fresh processes\n`,
);
console.log("services  resources  SDK load ms  program load ms  evaluate ms  evaluate ms/service");
for (const n of [2, 20, 200]) {
  const file = path.join(dir, `stack-${n}.yml`);
  fs.writeFileSync(file, stackfile(n));
  const m = measure(file);
  console.log(
    `${String(n + 1).padStart(8)}  ${String(m.resources).padStart(9)}  ${m.sdkLoadMs.toFixed(0).padStart(11)}  ` +
      `${m.programLoadMs.toFixed(0).padStart(15)}  ${m.evaluateMs.toFixed(0).padStart(11)}  ${(m.evaluateMs / (n + 1)).toFixed(2).padStart(19)}`,
  );
}
const validate = timeCommand([
  path.join(ROOT, "bin", "dropstack.js"),
  "validate",
  path.join(ROOT, "stacks", "datascience.yml"),
]);
console.log(
  `\ndropstack validate stacks/datascience.yml: ${validate.toFixed(0)} ms (whole process)`,
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
  `program load (index.ts and the SDK) through ts-node: ${swc.toFixed(0)} ms with SWC, ` +
    `${typescript.toFixed(0)} ms with TypeScript's transpiler`,
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
