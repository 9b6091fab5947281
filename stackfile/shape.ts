// Checking a Stackfile's shape: the document as plain values (YAML 1.1's yes/no read as Docker
// Cloud read them, aliases bounded), then the JSON Schema, each of its errors said in dropstack's
// words at the place it is about.
import Ajv, { ErrorObject } from "ajv";
import * as YAML from "yaml";
import type { Source } from "./document";
import { keyOf } from "./document";
import { StackfileError } from "./errors";
import { nearest } from "./nearest";
import { splitSecrets } from "./secrets";
import schema from "./stackfile.schema.json";

/** The document as plain values: each service name's map of keys. */
export type ServiceValues = Record<string, Record<string, unknown>>;

/** Every key a service may have, from the JSON Schema. */
export const SERVICE_KEYS: readonly string[] = Object.keys(schema.definitions.service.properties);

let validateSchema: ReturnType<Ajv["compile"]> | undefined;

/** Keys whose schema type is boolean. */
export const BOOLEAN_KEYS = new Set(
  Object.entries(schema.definitions.service.properties as Record<string, { type?: unknown }>)
    .filter(([, p]) => p.type === "boolean")
    .map(([k]) => k),
);
export const YAML_11_BOOLEANS: Record<string, boolean> = {
  yes: true,
  on: true,
  no: false,
  off: false,
};

/**
 * Of a oneOf's errors, those of the form the value evidently takes: environment written as a map
 * has its problem in the map (a value that is a list), not in "must be a list". A value of no
 * form the oneOf takes keeps only the oneOf's own error, which names every form.
 */
export function chosenForms(errors: ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  for (const oneOf of errors.filter((e) => e.keyword === "oneOf")) {
    const forms = oneOf.schema as { type?: string | string[] }[];
    const chosen = forms.findIndex((form) => hasType(oneOf.data, form.type));
    if (chosen >= 0) dropped.add(oneOf);
    for (const e of errors) {
      const inside =
        e.schemaPath.startsWith(`${oneOf.schemaPath}/`) &&
        (e.instancePath + "/").startsWith(`${oneOf.instancePath}/`);
      if (inside && !e.schemaPath.startsWith(`${oneOf.schemaPath}/${chosen}/`)) dropped.add(e);
    }
  }
  return errors.filter((e) => !dropped.has(e));
}

/** Whether a value has one of the JSON Schema types given. */
function hasType(value: unknown, type: string | string[] | undefined): boolean {
  const kind = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  return [type ?? []]
    .flat()
    .some((t) => t === kind || (t === "integer" && Number.isInteger(value)));
}

/**
 * `- KEY: value` in a list of KEY=value (environment, labels), which YAML reads as a one-key map:
 * the fix, with the value as the file wrote it.
 */
export function colonItemMessage(
  doc: YAML.Document,
  e: ErrorObject,
  path: string[],
): string | undefined {
  if (e.keyword !== "type" || path.length !== 3 || !["environment", "labels"].includes(path[1]))
    return undefined;
  const list = doc.getIn(path.slice(0, 2), true);
  if (!YAML.isSeq(list)) return undefined;
  const item = list.items[Number(path[2])];
  if (!YAML.isMap(item) || item.items.length !== 1 || !YAML.isScalar(item.items[0].key))
    return undefined;
  const { key, value } = item.items[0] as YAML.Pair<YAML.Scalar>;
  const text = YAML.isScalar(value) && value.source ? value.source : "value";
  return (
    `${path[1]} list items are written KEY=value, not KEY: value; ` +
    `write "${list.flow ? "" : "- "}${String(key.value)}=${text}"`
  );
}

export function dedupeSchemaErrors(errors: ErrorObject[]): ErrorObject[] {
  // A service's unknown keys are reported above (a key's own, as in healthcheck, below); oneOf and
  // anyOf repeat their branches.
  const seen = new Set<string>();
  return errors.filter((e) => {
    const unknown = (e.params as { additionalProperty?: string }).additionalProperty;
    if (e.keyword === "if" || (unknown !== undefined && e.instancePath.split("/").length === 2))
      return false;
    const key = unknown === undefined ? e.instancePath : `${e.instancePath}/${unknown}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A schema error in dropstack's words: where, what is allowed, and what the value is instead. */
export function schemaMessage(e: ErrorObject, path: string[]): string {
  const where = placeOf(path);
  const propertyName = (e as { propertyName?: string }).propertyName;
  if (propertyName !== undefined && path.length === 0) {
    return `"${propertyName}" is not a service name; use letters, digits, - and _`;
  }
  switch (e.keyword) {
    case "anyOf":
    case "required":
      if (path.length === 1) return `service "${path[0]}" needs an image (or a build)`;
      if (e.keyword === "required")
        return `${where} needs "${(e.params as { missingProperty: string }).missingProperty}"`;
      break;
    case "propertyNames":
      return `"${(e.params as { propertyName?: string }).propertyName}" is not a service name; use letters, digits, - and _`;
    case "enum":
      return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues
        .filter((v) => v !== false)
        .map((v) => JSON.stringify(v))
        .join(", ")}`;
    case "minProperties":
      return "the Stackfile has no services";
    case "type":
      return `${where} must be ${typeWords([e.schema as string | string[]].flat())}, not ${shownValue(e.data)}`;
    case "minimum":
    case "maximum":
      return `${where} must be ${rangeWords(e.parentSchema as Range)}, not ${shownValue(e.data)}`;
    case "minLength":
      return `${where} must not be empty`;
    case "additionalProperties": {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const hint = nearest(key, Object.keys((e.parentSchema as { properties: object }).properties));
      return (
        `unknown key "${key}" in ${path.slice(1).join(".")} of service "${path[0]}"` +
        (hint ? `; did you mean "${hint}"?` : "")
      );
    }
    case "oneOf": {
      const forms = e.schema as { type: string | string[] }[];
      return `${where} must be ${typeWords(forms.flatMap((f) => f.type))}, not ${shownValue(e.data)}`;
    }
  }
  return `${where} ${e.message}`;
}

/** Where a schema error is: `"key.sub" in service "s"`, or an item of a list by its number. */
function placeOf(path: string[]): string {
  if (path.length === 0) return "the Stackfile";
  if (path.length === 1) return `service "${path[0]}"`;
  const [service, ...inside] = path;
  const last = inside[inside.length - 1];
  return /^\d+$/.test(last) && inside.length > 1
    ? `item ${Number(last) + 1} of "${inside.slice(0, -1).join(".")}" in service "${service}"`
    : `"${inside.join(".")}" in service "${service}"`;
}

/** What JSON Schema calls integer, array and object, as a Stackfile's writer calls them. */
const TYPE_NOUNS: Record<string, string> = {
  string: "string",
  integer: "whole number",
  number: "number",
  boolean: "boolean",
  array: "list",
  object: "map",
};

/** The types a value may have, as in "must be a string, number or boolean" (null goes unsaid). */
function typeWords(types: string[]): string {
  const nouns = types.filter((t) => t !== "null").map((t) => TYPE_NOUNS[t] ?? t);
  if (nouns.length === 1 && nouns[0] === "boolean") return "true or false";
  const last = nouns.pop();
  return `a ${nouns.length > 0 ? `${nouns.join(", ")} or ${last}` : last}`;
}

interface Range {
  minimum?: number;
  maximum?: number;
}

/** The numbers a value may be: "from 1 to 100", "2 or more" or "100 or less". */
function rangeWords({ minimum, maximum }: Range): string {
  if (minimum !== undefined && maximum !== undefined) return `from ${minimum} to ${maximum}`;
  return minimum !== undefined ? `${minimum} or more` : `${maximum} or less`;
}

/** A value as an error shows it: a scalar as the file gives it, a list or a map by its kind. */
function shownValue(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value !== "string") return String(value);
  // A secret's placeholder is shown as the reference the file wrote.
  const parts = splitSecrets(value).map((p) => (typeof p === "string" ? p : `\${${p.secret}}`));
  return JSON.stringify(parts.join(""));
}

/** The document as plain values, Docker Cloud's YAML 1.1 booleans read as it read them. */
export function readValue({ root, doc, error, errors, warnings }: Source): ServiceValues {
  // Docker Cloud's YAML 1.1 parser read yes/no/on/off as booleans; YAML 1.2 reads strings.
  for (const pair of root.items) {
    if (!YAML.isMap(pair.value)) continue;
    for (const item of pair.value.items) {
      const key = YAML.isScalar(item.key) ? String(item.key.value) : "";
      // Only plain scalars: YAML 1.1 read a quoted "yes" as a string too.
      if (!BOOLEAN_KEYS.has(key) || !YAML.isScalar(item.value) || item.value.type !== "PLAIN")
        continue;
      const word = item.value.value;
      if (typeof word === "string" && word.toLowerCase() in YAML_11_BOOLEANS)
        item.value.value = YAML_11_BOOLEANS[word.toLowerCase()];
    }
  }

  let value: ServiceValues;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias to a missing anchor, or aliases that expand without bound ("billion laughs").
    let alias: YAML.Node | undefined;
    YAML.visit(doc, {
      Alias: (_, node) => {
        alias ??= node;
      },
    });
    error(alias ?? root, `${(e as Error).message.split("\n")[0]}`);
    throw new StackfileError(errors, warnings);
  }
  return value;
}

/**
 * Checks the value against the JSON Schema. Returns the keys the schema rejected, by service:
 * mapping skips them and reads the service's other keys, so that one bad key hides no problem
 * of the others.
 */
export function checkShape(
  { root, doc, error, errors, warnings }: Source,
  value: ServiceValues,
): Map<string, Set<string>> {
  const rejected = new Map<string, Set<string>>();
  validateSchema ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(schema);
  if (!validateSchema(value)) {
    for (const e of dedupeSchemaErrors(chosenForms(validateSchema.errors ?? []))) {
      const path = e.instancePath
        .split("/")
        .slice(1)
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
      // A whole service, or a bad service name, is reported at the service's name.
      const serviceName =
        path.length === 1 ? path[0] : (e as { propertyName?: string }).propertyName;
      const found =
        path.length <= 1 && serviceName !== undefined
          ? (root.items.find((p) => (p.key as YAML.Scalar).value === serviceName)?.key as YAML.Node)
          : (doc.getIn(
              path.map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
              true,
            ) as YAML.Node | undefined);
      // An unknown key inside a key's map (healthcheck, build) is reported at itself.
      const unknown = (e.params as { additionalProperty?: string }).additionalProperty;
      const node = YAML.isMap(found) && unknown !== undefined ? keyOf(found, unknown) : found;
      error(node ?? root, colonItemMessage(doc, e, path) ?? schemaMessage(e, path));
      // The service the problem is in; a problem with the file as a whole stops here.
      const owner = path[0] ?? serviceName;
      if (owner === undefined) throw new StackfileError(errors, warnings);
      if (path[1] !== undefined)
        rejected.set(owner, (rejected.get(owner) ?? new Set()).add(path[1]));
    }
  }
  return rejected;
}
