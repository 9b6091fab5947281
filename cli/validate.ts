// dropstack validate, and the checks it shares: the proxy's errors and the keys Swarm refuses.
import * as path from "path";
import * as fs from "fs";
import * as YAML from "yaml";
import { checkBuilds, dataNodeTagProblems, swarmProblems } from "../stackfile";
import type { Diagnostic, StackSpec, SwarmProblem } from "../stackfile";
import { serviceTags, type DropstackConfig } from "../config";
import { planProxy, ProxyError } from "../proxy/plan";
import { backupSummary } from "../backup/plan";
import { resourcePrefix } from "../config/naming";
import { parseFromArgs, PROJECT_DIR, report, stackConfig } from "./args";

export async function validate(
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const { result, partial, config, swarm, stack } = await parseFromArgs(args, err);
  // Build problems too, of every service that could be read, so one run shows every error.
  const spec = result?.spec ?? partial;
  if (spec === undefined) return 1;
  const buildProblems = [
    // On a cluster, what no Swarm service can do, as `up` refuses it.
    ...(swarm ? swarmDiagnostics(spec.file, spec.services.flatMap(swarmProblems)) : []),
    // And a service with data asking a tag the first node, where it runs, lacks.
    ...(swarm && config
      ? swarmDiagnostics(
          spec.file,
          dataNodeTagProblems(spec.services, serviceTags(config, stack ?? "", true)),
        )
      : []),
    ...checkBuilds(spec, path.dirname(spec.file), process.cwd()),
  ];
  report(err, "error", buildProblems);
  const proxyProblems = config && result ? proxyErrors(config, result.spec) : [];
  for (const problem of proxyProblems) err.write(`${spec.file}: error: ${problem}\n`);
  if (!result || buildProblems.length > 0 || proxyProblems.length > 0) return 1;
  out.write(
    `${spec.file}: valid, ${spec.services.length} service${spec.services.length === 1 ? "" : "s"}` +
      (spec.generated.length > 0 ? `; generated at deploy: ${spec.generated.join(", ")}` : "") +
      "\n",
  );
  // What each kind of backup protects: the droplet's and the data's are easily confused.
  if (config !== undefined && stack !== undefined) {
    const prefix = resourcePrefix((await stackConfig()).readProjectName(PROJECT_DIR), stack);
    for (const line of backupSummary(config, result.spec, prefix)) out.write(`${line}\n`);
  }
  return 0;
}

/** What keeps the stack's proxy from fronting the Stackfile, one line each. */
export function proxyErrors(config: DropstackConfig, spec: StackSpec): string[] {
  try {
    planProxy(config, spec);
    return [];
  } catch (e) {
    if (e instanceof ProxyError) return e.message.split("\n");
    throw e;
  }
}

/**
 * The keys no Swarm service can honour, as Stackfile errors: each at its key in the file (at the
 * service when the key is not written there as such), so they read like the parser's.
 */
export function swarmDiagnostics(file: string, problems: SwarmProblem[]): Diagnostic[] {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { lineCounter });
  const pairOf = (map: unknown, key: string) =>
    YAML.isMap(map)
      ? map.items.find((pair) => YAML.isScalar(pair.key) && pair.key.value === key)
      : undefined;
  return problems.map((problem) => {
    const service = pairOf(doc.contents, problem.service);
    const at = (pairOf(service?.value, problem.key) ?? service)?.key as YAML.Node | undefined;
    const { line, col } = lineCounter.linePos(at?.range?.[0] ?? 0);
    return { file, line, column: col, message: `service "${problem.service}": ${problem.message}` };
  });
}
