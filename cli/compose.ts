// dropstack compose: the Stackfile as a docker-compose.yml (or a Swarm stack file), and its .env.
import * as path from "path";
import * as fs from "fs";
import {
  checkBuilds,
  composeEnvFile,
  exportCompose,
  SwarmExportError,
  swarmProblems,
} from "../stackfile";
import type { ComposeOptions, StackSpec } from "../stackfile";
import { CliError } from "./errors";
import { COMPOSE_OPTIONS, parseFromArgs, report } from "./args";
import { swarmDiagnostics } from "./validate";

export async function compose(
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const { result, output, swarm } = await parseFromArgs(args, err, COMPOSE_OPTIONS, "compose");
  if (!result) return 1;
  const spec = result.spec;
  const options = swarm ? await swarmOptions(spec, err) : {};
  if (options === undefined) return 1;
  if (output !== undefined && fs.existsSync(output) && fs.statSync(output).isDirectory())
    throw new CliError(
      `--output ${output}: is a folder; name the file to write, e.g. ${path.join(output, swarm ? "stack.yml" : "docker-compose.yml")}`,
    );
  const dir = output === undefined ? undefined : path.dirname(output);
  let exported: { compose: string; variables: string[] };
  try {
    exported = exportCompose(spec, { ...options, outputDir: dir });
  } catch (e) {
    if (!(e instanceof SwarmExportError)) throw e;
    report(err, "error", swarmDiagnostics(spec.file, e.problems));
    return 1;
  }
  if (output === undefined || dir === undefined) {
    out.write(exported.compose);
    return 0;
  }
  return writeOutput(output, dir, exported, spec.file, swarm, out, err);
}

/** The export's options for a Swarm stack file; undefined when its errors were reported. */
async function swarmOptions(
  spec: StackSpec,
  err: NodeJS.WritableStream,
): Promise<ComposeOptions | undefined> {
  // The swarm export reads the build contexts (see below): a missing one is an error here,
  // reported with the keys the export refuses, so that one run shows every error.
  const buildProblems = checkBuilds(spec, path.dirname(spec.file), process.cwd());
  if (buildProblems.length > 0) {
    const refused = swarmDiagnostics(spec.file, spec.services.flatMap(swarmProblems));
    report(err, "error", [...refused, ...buildProblems]);
    return undefined;
  }
  // A built image gets the program's tag, which holds its context's hash; that loads the
  // program's module, and Pulumi's SDK, so only when such a service exists.
  if (spec.services.some((s) => s.build)) {
    const { imageReference } = await import("../components/stack");
    const dir = path.dirname(spec.file);
    return { swarm: true, builtImage: (s) => imageReference(s, dir) };
  }
  return { swarm: true };
}

/** Writes the export to `output` and, when it has variables, a .env beside it to fill them in. */
function writeOutput(
  output: string,
  dir: string,
  { compose, variables }: { compose: string; variables: string[] },
  file: string,
  swarm: boolean | undefined,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): number {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(output, compose);
  out.write(`wrote ${output}\n`);
  if (variables.length === 0) return 0;
  // Never overwrite a .env: it may hold values the user filled in.
  const env = path.join(dir, ".env");
  if (!fs.existsSync(env)) {
    fs.writeFileSync(env, composeEnvFile(file, variables, { swarm }), { mode: 0o600 });
    out.write(`wrote ${env}: fill in ${variables.join(", ")}\n`);
    return 0;
  }
  const has = new Set(
    fs
      .readFileSync(env, "utf8")
      .split("\n")
      .map((line) => line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/)?.[1]),
  );
  const lacking = variables.filter((v) => !has.has(v));
  if (lacking.length > 0)
    err.write(`dropstack: ${env} exists and was left as it is; add ${lacking.join(", ")} to it\n`);
  return 0;
}
