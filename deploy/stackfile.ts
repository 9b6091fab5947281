// The Stackfile as the program reads it: parsed with the stack's variables and node tags, its
// warnings logged, checked for a cluster, and the proxy's plan for it; every problem ends the run
// with a RunError before anything is made.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import type { DropstackConfig } from "../config";
import { planProxy, ProxyError, ProxyPlan } from "../proxy/plan";
import { runError } from "../runtime";
import {
  formatDiagnostic,
  parseStackfile,
  StackfileError,
  StackSpec,
  dataNodeTagProblems,
  swarmProblems,
} from "../stackfile";

/** The proxy's plan, or a run error naming what in the Stackfile keeps it from fronting it. */
export function proxyPlan(config: DropstackConfig, spec: StackSpec): ProxyPlan | undefined {
  try {
    return planProxy(config, spec);
  } catch (e) {
    if (e instanceof ProxyError) throw runError(`${spec.file}: ${e.message}`);
    throw e;
  }
}

/** Parses the Stackfile at `file`; messages name it as the user wrote it, `shown`. */
export function loadStackfile(
  file: string,
  shown: string,
  vars: Record<string, pulumi.Input<string>>,
  tags: string[],
  cluster: boolean,
  dataNodeTags: string[],
): StackSpec {
  if (!fs.existsSync(file)) {
    throw runError(
      `dropstack:stackfile: ${JSON.stringify(shown)} does not exist (paths are relative to the project folder)`,
    );
  }
  try {
    const { spec, warnings } = parseStackfile(fs.readFileSync(file, "utf8"), shown, {
      vars: Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [
          k,
          typeof v === "string" ? v : { secret: true as const },
        ]),
      ),
      nodeTags: tags,
      cluster,
    });
    warnings.forEach((w) => pulumi.log.warn(formatDiagnostic(w)));
    const onSwarm = cluster
      ? [
          ...spec.services.flatMap(swarmProblems),
          ...dataNodeTagProblems(spec.services, dataNodeTags),
        ]
      : [];
    if (onSwarm.length > 0) {
      throw runError(
        `${shown} cannot run on a cluster (dropstack:nodes above 1):\n  - ` +
          onSwarm.map((p) => `service "${p.service}": ${p.message}`).join("\n  - "),
      );
    }
    return spec;
  } catch (e) {
    if (e instanceof StackfileError) throw runError(e.message);
    throw e;
  }
}
