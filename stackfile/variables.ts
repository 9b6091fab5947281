// Interpolation, run on the text of every value before the schema sees it, as in Compose:
// `${VAR}` from the stack's variables, a secret's placeholder where a secret may go, the seed's
// `#NAME#` fill-in markers read as `${NAME}`, and one error naming every unset variable.
import * as YAML from "yaml";
import type { Source } from "./document";
import { interpolate } from "./interpolate";
import { SECRET_NAME, SECRET_PLACES, secretPlace, secretToken, splitSecrets } from "./secrets";

/** The variables a Stackfile uses, and the secrets left to generate at deploy time. */
export interface Variables {
  used: Set<string>;
  generated: Set<string>;
}

/** Interpolates every value of the document in place. */
export function interpolateValues(
  { doc, error, warn }: Source,
  vars: Record<string, string | { secret: true }>,
): Variables {
  const used = new Set<string>();
  const generated = new Set<string>();
  const unset = new Map<string, YAML.Node>();
  const lookup = (name: string) => {
    const value = vars[name];
    if (typeof value === "string") return value;
    if (value !== undefined || SECRET_NAME.test(name)) {
      if (value === undefined) generated.add(name);
      return secretToken(name);
    }
    return undefined;
  };
  YAML.visit(doc, {
    Scalar(key, node, path) {
      if (key === "key" || typeof node.value !== "string") return;
      const text = readFillInMarkers(node.value, node, warn);
      const result = interpolate(text, lookup);
      result.used.forEach((name) => used.add(name));
      for (const name of result.unset) if (!unset.has(name)) unset.set(name, node);
      if (result.invalid) {
        error(
          node,
          `"${result.invalid.text}" is not a variable reference; write \${NAME}, or $$ for a literal $`,
        );
      }
      node.value = result.value;
      const secret = splitSecrets(result.value).find((p) => typeof p !== "string");
      const where = secretPlace(path);
      if (secret !== undefined && where !== undefined) {
        error(
          node,
          `\${${secret.secret}} is a secret, which dropstack fills in only where it hands Docker ` +
            `the value as a secret: ${SECRET_PLACES}; not in ${where}`,
        );
        // Its name in its place, so the checks after this one do not quote the placeholder.
        node.value = splitSecrets(result.value)
          .map((p) => (typeof p === "string" ? p : p.secret))
          .join("");
      }
    },
  });
  reportUnset(unset, error);
  return { used, generated };
}

/**
 * The seed's `#NAME#` fill-in markers were instructions to the reader, not a Docker Cloud
 * feature: reads them as ${NAME}, and says so.
 */
function readFillInMarkers(text: string, node: YAML.Scalar, warn: Source["warn"]): string {
  return text.replace(/#([A-Z][A-Z0-9_]*)#/g, (_m, name: string) => {
    warn(
      node,
      `"#${name}#" is a fill-in marker from the original guide, not Stackfile syntax; dropstack reads it as \${${name}}`,
    );
    return `\${${name}}`;
  });
}

/** One error naming every variable that has no value, at the first one's place. */
function reportUnset(unset: Map<string, YAML.Node>, error: Source["error"]): void {
  if (unset.size === 0) return;
  const names = [...unset.keys()];
  error(
    unset.get(names[0]),
    `no value for ${names.map((n) => `\${${n}}`).join(", ")}; set ${names.length === 1 ? "it" : "them"} with ` +
      `\`npx pulumi config set --path stackVars.${names[0]} <value>\` (add --secret for a secret). ` +
      `Unset variables ending in PASSWORD, SECRET, TOKEN or KEY are generated`,
  );
}
