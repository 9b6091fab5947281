// Benchmark (not a test): a real `pulumi up` of test/engine/stack, then of the shipped local stack
// (stacks/datascience.yml, with the stand-in images of test:engine), on the local target, timed from
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
import { ensureStandins, standinsMissing } from "../test/engine/standins";
import {
  cachedEngine,
  copyProject,
  findPlugins,
  missingPlugins,
  Pulumi,
} from "../test/engine/pulumi-engine";

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
    const up = (stack: string, label: string) => {
      const file = path.join(work, `${stack}-${label}.jsonl`);
      // --event-log is one of the CLI's debug flags (the Automation API's way to read events).
      const args = ["up", "--yes", "--skip-preview", "--event-log", file, "--stack", stack];
      const start = process.hrtime.bigint();
      const r = pulumi.run(args, project, { PULUMI_DEBUG_COMMANDS: "true" });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")}:\n${r.stdout}${r.stderr}`);
      report(label, ms, file);
    };
    /** Cold (no build cache), again with no change, then warm (after a destroy, cache kept). */
    const measure = (stack: string, what: string, config: Record<string, string>) => {
      pulumi.initStack(stack, config, project);
      docker.docker(["builder", "prune", "-af"]);
      console.log(`\nreal pulumi up of ${what} on the local target:`);
      try {
        up(stack, "cold");
        up(stack, "no change");
        pulumi.ok(["destroy", "--yes", "--stack", stack], project);
        up(stack, "warm");
      } finally {
        pulumi.run(["destroy", "--yes", "--stack", stack], project);
      }
    };
    console.log(
      "\n(the engine's event log has whole-second timestamps: steps that share a second count " +
        "as overlapping)",
    );
    measure("bench", "test/engine/stack", {
      "dropstack:target": "local",
      "dropstack:stackfile": "test/engine/stack/stack.yml",
    });
    // The stack users try first, as shipped (Pulumi.local.yaml), with the stand-in images.
    const noStandins = standinsMissing();
    if (noStandins !== undefined) console.log(`\nthe shipped local stack: skipped, ${noStandins}`);
    else {
      ensureStandins(docker, log);
      measure("local", "the shipped local stack (stacks/datascience.yml, stand-in images)", {});
    }
  } finally {
    await docker.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function report(label: string, ms: number, file: string): void {
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
    `  ${label.padEnd(9)} ${(ms / 1000).toFixed(1)} s as a process; in the engine's events ` +
      `${wall} s, first step at ${firstStep} s; images: ${span(images)}; containers: ${span(containers)}`,
  );
}

main().catch((e) => {
  console.error(`bench-up: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
