import * as fs from "fs";
import * as path from "path";
import type { Diagnostic, StackSpec } from "./types";

/**
 * What would make a `build` service fail on the node, found before anything is created: a
 * context that is not a folder, no Dockerfile in it, or a Dockerfile that needs BuildKit. One
 * diagnostic each, at the service's `build` key, with paths relative to `shownFrom` (the folder
 * the user works in).
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
      continue;
    }
    for (const { line, feature, instead } of buildKitOnly(fs.readFileSync(dockerfile, "utf8")))
      problem(
        `service "${service.name}": ${shown(dockerfile)}:${line} uses ${feature}, which needs BuildKit, and images are built with Docker's classic builder (the Docker provider's BuildKit builds run on this machine's Docker, not the node's); ${instead}`,
      );
  }
  return problems;
}

/** What the classic builder refuses (or misreads), by instruction and flag, and what to write. */
const BUILDKIT_FLAGS: Record<string, Record<string, string>> = {
  COPY: {
    chmod: "copy the file, then set its mode with RUN chmod",
    link: "leave --link out",
    parents: "copy each folder to its own destination",
    exclude: "list what to leave out in .dockerignore",
  },
  ADD: {
    chmod: "add the file, then set its mode with RUN chmod",
    link: "leave --link out",
    checksum: "download with RUN curl and check the sum with sha256sum",
    "keep-git-dir": "clone with RUN git clone",
  },
  RUN: {
    mount: "copy what the command needs into the image first",
    network: "leave --network out",
    security: "leave --security out",
  },
};

/**
 * The lines of a Dockerfile that need BuildKit: an instruction flag the classic builder lacks,
 * or a heredoc (`RUN <<EOF`), which it would read as separate instructions.
 */
export function buildKitOnly(
  dockerfile: string,
): { line: number; feature: string; instead: string }[] {
  const found: { line: number; feature: string; instead: string }[] = [];
  let continued = false;
  dockerfile.split("\n").forEach((text, i) => {
    const isContinuation = continued;
    continued = /\\\s*$/.test(text);
    if (isContinuation || /^\s*(#|$)/.test(text)) return;
    const [instruction = "", ...args] = text.trim().split(/\s+/);
    const upper = instruction.toUpperCase();
    for (const arg of args) {
      const flag = /^--([a-z-]+)/.exec(arg)?.[1];
      if (flag === undefined) {
        if (/^<<-?["']?[A-Za-z_]/.test(arg) && (upper === "RUN" || upper === "COPY"))
          found.push({
            line: i + 1,
            feature: `a heredoc (${upper} ${arg})`,
            instead: "write the commands on RUN lines, or copy a script file and run it",
          });
        break;
      }
      const instead = BUILDKIT_FLAGS[upper]?.[flag];
      if (instead !== undefined)
        found.push({ line: i + 1, feature: `${upper} --${flag}`, instead });
    }
  });
  return found;
}
