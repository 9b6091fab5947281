import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { DropstackConfig } from "../config";
import { parseConfig } from "../config";

import { CliError } from "./errors";

/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi engine hands config to the program: scalars as
 * strings, objects and lists as JSON. Encrypted values cannot be read without the CLI; they
 * stand in as "[secret]".
 */
export function readStackConfig(projectDir: string, stack: string): DropstackConfig {
  const { file, values, secret } = readStackConfigValues(projectDir, stack);
  try {
    return parseConfig(
      { get: (k) => values[k], isSecret: (k) => secret.has(k), keys: () => Object.keys(values) },
      { DIGITALOCEAN_TOKEN: "not needed to render" },
    );
  } catch (e) {
    throw new CliError(`${path.basename(file)}: ${(e as Error).message}`);
  }
}

/**
 * The raw values of `Pulumi.<stack>.yaml`, as the engine would pass them to the program: the
 * stack's own values, then the defaults `Pulumi.yaml` declares for the keys the stack leaves
 * unset. Like the engine, a project key declared with neither `default` nor `value` must be set
 * by every stack.
 */
export function readStackConfigValues(
  projectDir: string,
  stack: string,
): { file: string; values: Record<string, string>; secret: Set<string> } {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    throw new CliError(`no ${path.basename(file)} here; ${stacksWithAFile(projectDir)}`);
  }
  const doc = readYaml(file) ?? {};
  const values: Record<string, string> = {};
  const secret = new Set<string>();
  for (const [key, value] of Object.entries<unknown>(doc.config ?? {})) {
    const plain = stripSecure(value, () => secret.add(key));
    values[key] = configString(plain);
  }
  const missing = applyProjectConfig(readProject(projectDir), values);
  if (missing.length > 0) {
    // The engine's own words, so the failure reads the same here as under `pulumi up`.
    throw new CliError(
      `Stack '${stack}' is missing configuration value${missing.length > 1 ? "s" : ""} ` +
        missing
          .map((k, i) => (i === 0 ? "" : i === missing.length - 1 ? " and " : ", ") + `'${k}'`)
          .join(""),
    );
  }
  return { file, values, secret };
}

/** The stacks that have a `Pulumi.<stack>.yaml`, as messages name them: "stacks with a file: …". */
export function stacksWithAFile(projectDir: string): string {
  const stacks = fs
    .readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
  return `stacks with a file: ${stacks.join(", ") || "none"}`;
}

/**
 * Fills in the defaults (and fixed values) of `Pulumi.yaml`'s `config:` block for the keys the
 * stack does not set; returns the project's keys that have neither, sorted.
 * See pulumi/pulumi sdk/go/common/workspace (mergeConfig).
 */
function applyProjectConfig(project: Project, values: Record<string, string>): string[] {
  const missing: string[] = [];
  for (const [name, declared] of Object.entries<unknown>(project.config ?? {})) {
    const key = name.includes(":") ? name : `${project.name}:${name}`;
    if (key in values) continue;
    // A bare scalar declares a fixed value; an object may carry `default` or `value`.
    const declaration =
      declared !== null && typeof declared === "object"
        ? (declared as { default?: unknown; value?: unknown })
        : { value: declared };
    const value = declaration.default ?? declaration.value;
    if (value !== undefined) values[key] = configString(value);
    else if (key.startsWith(`${project.name}:`)) missing.push(name);
  }
  return missing.sort();
}

/** Scalars as their text, objects and lists as JSON: how the engine hands config over. */
function configString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The parts of Pulumi.yaml this reader needs. */
interface Project {
  name: string;
  config?: Record<string, unknown>;
}

function readProject(projectDir: string): Project {
  return readYaml(path.join(projectDir, "Pulumi.yaml"));
}

/** A YAML file's value; a syntax error names the file, line and column. */
function readYaml(file: string) {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), {
    lineCounter,
    prettyErrors: false,
  });
  const e = doc.errors[0];
  if (e !== undefined) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    throw new CliError(`${file}:${line}:${col}: ${e.message.split("\n")[0]}`);
  }
  return doc.toJS();
}

/** The project name from Pulumi.yaml: Pulumi prefixes the stack's resources with it. */
export function readProjectName(projectDir: string): string {
  return readProject(projectDir).name;
}

function stripSecure(value: unknown, onSecret: () => void): unknown {
  if (Array.isArray(value)) return value.map((v) => stripSecure(v, onSecret));
  if (value !== null && typeof value === "object") {
    if ("secure" in value) {
      onSecret();
      return "[secret]";
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripSecure(v, onSecret)]));
  }
  return value;
}
