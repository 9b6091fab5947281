import * as fs from "fs";
import * as path from "path";
import type { Diagnostic, StackSpec } from "./types";

/**
 * What would make a `build` service fail on the node, found before anything is created: a
 * context that is not a folder, or no Dockerfile in it. One diagnostic each, at the service's
 * `build` key, with paths relative to `shownFrom` (the folder the user works in).
 */
export function checkBuilds(
  spec: StackSpec,
  stackfileDir: string,
  shownFrom: string,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const shown = (file: string) => path.relative(shownFrom, file) || ".";
  for (const service of spec.services) {
    if (!service.build) continue;
    const at = { file: spec.file, line: 0, column: 0, ...service.build.at };
    const problem = (message: string) => problems.push({ ...at, message });
    const context = path.resolve(stackfileDir, service.build.context);
    if (!fs.statSync(context, { throwIfNoEntry: false })?.isDirectory()) {
      problem(
        `service "${service.name}": build context ${shown(context)} is not a folder (build paths are relative to the Stackfile)`,
      );
      continue;
    }
    const dockerfile = path.resolve(context, service.build.dockerfile ?? "Dockerfile");
    if (!fs.statSync(dockerfile, { throwIfNoEntry: false })?.isFile()) {
      problem(
        `service "${service.name}": there is no Dockerfile at ${shown(dockerfile)} (build.dockerfile is relative to the context)`,
      );
    }
  }
  return problems;
}
