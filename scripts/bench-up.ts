// Benchmark (not a test): a real `pulumi up` of test/engine/stack on the local target, timed from
// the engine's own event log (--event-log): cold (nothing built, Docker's build cache empty),
// again with no change, and warm (after a destroy, Docker's build cache kept). For each, the wall
// time, the program's share before its first resource step, and how many image builds and
// container creates ran at once. Needs the engine (scripts/engine/build.sh), Docker, and the
// docker, random and command plugins (DROPSTACK_ENGINE_PLUGINS, as npm run test:engine); says
// what is missing otherwise. Run by `npm run bench` after its other figures.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { baseImageMissing, ensureBaseImage } from "../test/engine/base-image";
import { dockerMissing, startDockerEngine } from "../test/engine/docker-engine";
import { maxConcurrent, readEventLogFile, Step } from "../test/engine/event-log";
import {
  cachedEngine,
  copyProject,
  findPlugins,
  missingPlugins,
  Pulumi,
} from "../test/engine/pulumi-engine";

const STACK = "bench";

async function main(): Promise<void> {
  const engineParts = cachedEngine();
  const plugins = findPlugins();
  const missing = missingPlugins(plugins, ["docker", "random", "command"]);
  const why =
    engineParts === undefined
      ? "the engine is not built (npm run test:engine builds it)"
      : (dockerMissing() ??
        (missing.length > 0 ? `missing plugins: ${missing.join("; ")}` : undefined));
  if (why !== undefined) {
    console.log(`\nreal up on the local target: skipped, ${why}`);
    return;
  }
  const log = (line: string) => console.log(`  ${line}`);
  const docker = await startDockerEngine(log);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-bench-up-"));
  try {
    const noBase = baseImageMissing(docker);
    if (noBase !== undefined) throw new Error(noBase);
    ensureBaseImage(docker, log);
    const pulumi = new Pulumi(work, engineParts!, docker.host, plugins);
    const project = copyProject(work);
    const stack = ["--stack", STACK];
    pulumi.ok(["stack", "init", STACK], project);
    for (const [key, value] of [
      ["dropstack:target", "local"],
      ["dropstack:stackfile", "test/engine/stack/stack.yml"],
    ])
      pulumi.ok(["config", "set", key, value, ...stack], project);
    // Cold: no build cache from an earlier run.
    docker.docker(["builder", "prune", "-af"]);
    const up = (label: string) => {
      const file = path.join(work, `${label}.jsonl`);
      pulumi.ok(["up", "--yes", "--skip-preview", "--event-log", file, ...stack], project);
      report(label, file);
    };
    console.log("\nreal pulumi up of test/engine/stack on the local target (from --event-log):");
    try {
      up("cold");
      up("no change");
      pulumi.ok(["destroy", "--yes", ...stack], project);
      up("warm");
    } finally {
      pulumi.run(["destroy", "--yes", ...stack], project);
    }
  } finally {
    await docker.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function report(label: string, file: string): void {
  const { wall, firstStep, steps } = readEventLogFile(file);
  const of = (type: RegExp) => steps.filter((s) => type.test(s.type) && s.op !== "delete");
  const images = of(/RemoteImage$/);
  const containers = of(/Container$/);
  const span = (s: Step[]) =>
    s.length === 0
      ? "none"
      : `${s.length} in ${Math.min(...s.map((x) => x.start))}-${Math.max(...s.map((x) => x.end))} s, ` +
        `at most ${maxConcurrent(s)} at once`;
  console.log(
    `  ${label.padEnd(9)} wall ${wall} s; first step at ${firstStep} s; images: ${span(images)}; ` +
      `containers: ${span(containers)}`,
  );
}

main().catch((e) => {
  console.error(`bench-up: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
