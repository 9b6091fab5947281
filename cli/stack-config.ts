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

/** The raw values of `Pulumi.<stack>.yaml`, as the engine would pass them to the program. */
export function readStackConfigValues(
  projectDir: string,
  stack: string,
): { file: string; values: Record<string, string>; secret: Set<string> } {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const stacks = fs
      .readdirSync(projectDir)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
    throw new CliError(
      `no ${path.basename(file)} here; stacks with a file: ${stacks.join(", ") || "none"}`,
    );
  }
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
  const values: Record<string, string> = {};
  const secret = new Set<string>();
  for (const [key, value] of Object.entries<unknown>(doc.config ?? {})) {
    const plain = stripSecure(value, () => secret.add(key));
    values[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  return { file, values, secret };
}

/** The project name from Pulumi.yaml: Pulumi prefixes the stack's resources with it. */
export function readProjectName(projectDir: string): string {
  return YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")).name;
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
