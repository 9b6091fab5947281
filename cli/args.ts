// The command line's grammar: usage, option tables, their problems, and reading the Stackfile it names.
import * as path from "path";
import { parseArgs } from "util";
import type { ParseArgsOptionsConfig } from "util";
import * as fs from "fs";
import { formatDiagnostic, parseStackfile, StackfileError } from "../stackfile";
import type { Diagnostic, ParseOptions, ParseResult, StackSpec } from "../stackfile";
import { serviceTags } from "../config";
import type { DropstackConfig } from "../config";
import { tagFor } from "../config/naming";
import { stackWarnings } from "../config/warnings";
import { CliError } from "./errors";

// Reading a stack's config loads the Pulumi SDK (half a second): only commands that need it do.
export const stackConfig = () => import("./stack-config");

export const PROJECT_DIR = path.join(__dirname, "..");

export const USAGE = `usage: dropstack <command> [options]

commands:
  validate [FILE] [--stack NAME] [--var NAME=VALUE ...]
                              check a Stackfile: every error and warning with its position,
                              and that each build's context and Dockerfile exist; with --stack,
                              also what pulumi up on that stack warns about (FILE defaults to
                              the stack's stackfile); exit status 1 when there are errors
  compose FILE [--stack NAME] [--var NAME=VALUE ...] [--output FILE] [--swarm]
                              print the equivalent docker-compose.yml, to run the stack locally;
                              with --output, write it there (build paths relative to it) and a
                              .env beside it listing the variables to fill in. For a stack with
                              dropstack:nodes above 1, or with --swarm, a file for
                              \`docker stack deploy\` on a Docker Swarm instead (deploy: keys, no
                              builds: its header says what to build and label first)
  cloud-init [--stack NAME]   print the user_data the stack's node would get (default stack: dev)
  proxy --stack NAME          print the Caddyfile of the stack's HTTPS proxy (dropstack:tls)
  backups --stack NAME        list the stack's data backups (dropstack:dataBackups): ID, time, size
  restore --stack NAME [--at ID|TIME|latest]
                              without --at, list the backups; with it, put that backup's files
                              and database dumps back on the node (a TIME picks the last backup
                              at or before it, UTC unless it says otherwise)

Variables come from --var, then from the stack's stackVars (--stack). Unset ones ending in
PASSWORD, SECRET, TOKEN or KEY are generated at deploy time; other unset ones are errors.
`;

export const CLOUD_INIT_OPTIONS = { stack: { type: "string", default: "dev" } } as const;
export const PROXY_OPTIONS = { stack: { type: "string" } } as const;
const STACKFILE_OPTIONS = {
  stack: { type: "string" },
  var: { type: "string", multiple: true },
} as const;
export const COMPOSE_OPTIONS = {
  ...STACKFILE_OPTIONS,
  output: { type: "string" },
  swarm: { type: "boolean" },
} as const;

/** What each command's command line takes: its options, and whether it takes a FILE. */
export const COMMAND_LINES: Record<string, { options: ParseArgsOptionsConfig; file: boolean }> = {
  "cloud-init": { options: CLOUD_INIT_OPTIONS, file: false },
  validate: { options: STACKFILE_OPTIONS, file: true },
  compose: { options: COMPOSE_OPTIONS, file: true },
  proxy: { options: PROXY_OPTIONS, file: false },
  backups: { options: { stack: { type: "string" } }, file: false },
  restore: { options: { stack: { type: "string" }, at: { type: "string" } }, file: false },
};

/** Each option as the usage writes it. */
const OPTION_USAGE: Record<string, string> = {
  stack: "--stack NAME",
  var: "--var NAME=VALUE",
  output: "--output FILE",
  swarm: "--swarm",
  at: "--at ID|TIME|latest",
};

/**
 * What parseArgs refused in `args`, in dropstack's words: Node's own text leaves a quote open and
 * suggests `--`, which says nothing to someone who mistyped an option.
 */
export function commandLineProblem(
  refused: Error,
  args: string[],
  { options, file }: { options: ParseArgsOptionsConfig; file: boolean },
): string {
  const usage = Object.keys(options).map((name) => OPTION_USAGE[name] ?? `--${name}`);
  const allowed =
    usage.length === 1
      ? `the only option is ${usage[0]}`
      : `the options are ${usage.slice(0, -1).join(", ")} and ${usage.at(-1)}`;
  const { tokens } = parseArgs({ args, options, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === "positional" && !file)
      return `unexpected argument ${JSON.stringify(token.value)}; ${allowed}`;
    if (token.kind !== "option") continue;
    const option = options[token.name];
    if (option === undefined) return `unknown option ${JSON.stringify(token.rawName)}; ${allowed}`;
    // As in strict mode, a value that looks like an option is one forgotten: `--stack --var x`.
    const missing =
      token.value === undefined || (!token.inlineValue && token.value.startsWith("-"));
    if (option.type === "string" && missing)
      return `${token.rawName} needs a value: ${OPTION_USAGE[token.name]}`;
    if (option.type === "boolean" && token.inlineValue) return `${token.rawName} takes no value`;
  }
  return refused.message;
}

type Vars = Record<string, string | { secret: true }>;

/**
 * Parses the Stackfile the command line names (or, with only --stack, the stack's own) and
 * reports its problems and warnings. Without `result` it had errors; `partial` then holds the
 * services that could be read. `swarm`: the stack is a Swarm cluster (dropstack:nodes above 1)
 * or --swarm asked for one, and the file was parsed for a cluster. `command` names the command
 * in the message for a command line with neither FILE nor --stack.
 */
export async function parseFromArgs(
  args: string[],
  err: NodeJS.WritableStream,
  options: typeof STACKFILE_OPTIONS | typeof COMPOSE_OPTIONS = STACKFILE_OPTIONS,
  command = "validate",
): Promise<{
  result?: ParseResult;
  config?: DropstackConfig;
  partial?: StackSpec;
  output?: string;
  swarm?: boolean;
  stack?: string;
}> {
  const parsed = parseArgs({ args, options, allowPositionals: true });
  const values = parsed.values as {
    stack?: string;
    var?: string[];
    output?: string;
    swarm?: boolean;
  };
  const config =
    values.stack === undefined
      ? undefined
      : (await stackConfig()).readStackConfig(PROJECT_DIR, values.stack);
  const file = await stackfileNamed(parsed.positionals, config, command);
  const vars = varsFrom(config, values.var);
  const text = fs.readFileSync(file, "utf8");
  const swarm = values.swarm === true || (config?.nodes ?? 1) > 1;
  const parseOptions = parseOptionsFor(swarm, values.stack, config, vars, text, file);
  let result: ParseResult;
  try {
    result = parseStackfile(text, file, parseOptions);
  } catch (e) {
    if (!(e instanceof StackfileError)) throw e;
    report(err, "error", e.diagnostics);
    report(err, "warning", e.warnings);
    return { config, partial: e.partial, swarm, stack: values.stack };
  }
  report(err, "warning", result.warnings);
  // What `pulumi up` on that stack would warn about, from the same function.
  if (config !== undefined)
    for (const w of stackWarnings(config, result.spec)) err.write(`warning: ${w}\n`);
  return { result, config, output: values.output, swarm, stack: values.stack };
}

/** The Stackfile the command line names, or the stack's own; a CliError when there is none. */
async function stackfileNamed(
  positionals: string[],
  config: DropstackConfig | undefined,
  command: string,
): Promise<string> {
  if (positionals.length > 1)
    throw new CliError(`expected one Stackfile, got ${positionals.length}\n${USAGE}`);
  if (positionals.length === 0 && config === undefined) {
    // No stack is the default: `pulumi stack select` keeps its choice outside the project.
    const stacks = (await stackConfig()).stacksWithAFile(PROJECT_DIR);
    throw new CliError(
      `${command} needs a Stackfile: dropstack ${command} FILE, or dropstack ${command} --stack NAME ` +
        `for the stack's own (${stacks})`,
    );
  }
  // Without a file, the stack's own Stackfile, which is relative to the project folder.
  const file =
    positionals[0] ??
    (path.relative(process.cwd(), path.resolve(PROJECT_DIR, config!.stackfile)) || ".");
  if (!fs.existsSync(file)) throw new CliError(`${file}: no such file`);
  if (fs.statSync(file).isDirectory()) {
    const yamls = fs.readdirSync(file).filter((f) => /\.ya?ml$/.test(f));
    throw new CliError(
      `${file} is a folder; name the Stackfile in it` +
        (yamls.length > 0 ? `: ${yamls.map((f) => path.join(file, f)).join(", ")}` : ""),
    );
  }
  return file;
}

/** The variables: the stack's stackVars (secret ones as such), then each --var over them. */
function varsFrom(config: DropstackConfig | undefined, assignments: string[] = []): Vars {
  const vars: Vars = {};
  for (const [k, v] of Object.entries(config?.stackVars ?? {})) {
    vars[k] = typeof v === "string" && v !== "[secret]" ? v : { secret: true };
  }
  for (const assignment of assignments) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) throw new CliError(`--var ${assignment}: write NAME=VALUE`);
    vars[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return vars;
}

/** How to parse the file: for one node with its tags, or for a Swarm cluster. */
function parseOptionsFor(
  swarm: boolean,
  stack: string | undefined,
  config: DropstackConfig | undefined,
  vars: Vars,
  text: string,
  file: string,
): ParseOptions {
  if (!swarm) {
    // Every node is tagged dropstack and, on a stack, with the stack's name.
    const nodeTags = stack === undefined ? ["dropstack"] : [tagFor(stack), "dropstack"];
    return { vars, nodeTags };
  } else if (config !== undefined && config.nodes > 1) {
    // As the program reads it: the tags every node carries, and those nodeTags gives.
    return { vars, cluster: true, nodeTags: serviceTags(config, stack ?? "") };
  } else {
    // --swarm without a cluster stack: no node's tags are known, so every tag the file names is
    // taken as some node's (the export's header says to label the nodes with them).
    return { vars, cluster: true, nodeTags: tagsNamedIn(text, file, vars) };
  }
}

/** The tags a Stackfile's services name, read by the parser itself (even from a bad file). */
function tagsNamedIn(text: string, file: string, vars: Vars): string[] {
  let services: StackSpec["services"];
  try {
    services = parseStackfile(text, file, { vars }).spec.services;
  } catch (e) {
    if (!(e instanceof StackfileError)) throw e;
    services = e.partial?.services ?? [];
  }
  return [...new Set(services.flatMap((s) => s.tags))];
}

export function report(err: NodeJS.WritableStream, kind: string, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    err.write(`${formatDiagnostic({ ...d, message: `${kind}: ${d.message}` })}\n`);
  }
}
