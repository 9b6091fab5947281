// Secrets in a Stackfile: a variable set as a Pulumi secret, or an unset one whose name ends in
// PASSWORD, SECRET, TOKEN or KEY (generated at deploy time), stands in the StackSpec as a
// placeholder until the component swaps the value in, and only in the places where dropstack
// hands Docker the value as a secret.
import * as YAML from "yaml";

/** Names that make an unset variable a generated secret instead of an error. */
export const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|KEY)$/;

const SECRET_TOKEN = /@@dropstack-secret:([A-Za-z_][A-Za-z0-9_]*)@@/g;

/** The placeholder a secret value stands as in a StackSpec until the component swaps it in. */
export function secretToken(name: string): string {
  return `@@dropstack-secret:${name}@@`;
}

/** Splits a spec string around its secret placeholders. */
export function splitSecrets(text: string): (string | { secret: string })[] {
  const parts: (string | { secret: string })[] = [];
  let last = 0;
  for (const match of text.matchAll(SECRET_TOKEN)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push({ secret: match[1] });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** The service keys whose values may hold a secret variable, said in errors as here. */
export const SECRET_PLACES = "environment, command, entrypoint, healthcheck, labels and build args";

/**
 * Where in a service a scalar at `path` (its ancestors, from the document down) is, when that
 * place may not hold a secret: the service key (`build` for a build's context or Dockerfile).
 * Undefined where a secret is allowed, or outside a service.
 */
export function secretPlace(path: readonly unknown[]): string | undefined {
  // Document, the root map, the service's pair, its map, then the pair of the service's key.
  const pair = path[4];
  if (!YAML.isPair(pair) || !YAML.isScalar(pair.key)) return undefined;
  const key = String(pair.key.value);
  if (["environment", "command", "entrypoint", "healthcheck", "labels"].includes(key))
    return undefined;
  if (key === "build") {
    const inner = path[6];
    if (YAML.isPair(inner) && YAML.isScalar(inner.key) && inner.key.value === "args")
      return undefined;
  }
  return key;
}
