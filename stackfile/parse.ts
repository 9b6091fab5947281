// Parses a Docker Cloud Stackfile into a StackSpec: YAML with positions, the JSON Schema, then
// every key's meaning, then the checks that span services. Pure: no Pulumi, no file system.
import Ajv, { ErrorObject } from "ajv";
import * as YAML from "yaml";
import { goDuration, parseDuration } from "./duration";
import { nearest } from "./nearest";
import { StackfileError } from "./errors";
import { interpolate } from "./interpolate";
import { checkGraph } from "./graph";
import schema from "./stackfile.schema.json";
import {
  Diagnostic,
  HealthcheckSpec,
  PortSpec,
  Protocol,
  RestartPolicy,
  ServiceSpec,
  StackSpec,
  VolumeSpec,
} from "./types";

/** Every key a service may have, from the JSON Schema. */
export const SERVICE_KEYS: readonly string[] = Object.keys(schema.definitions.service.properties);

/** Names that make an unset variable a generated secret instead of an error. */
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|KEY)$/;

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

export interface ParseOptions {
  /** Values for `${VAR}`: a string, or `{ secret: true }` for a value withheld until deploy. */
  vars?: Record<string, string | { secret: true }>;
  /** The node's tags (on a cluster, every node's), to check services' `tags` against. */
  nodeTags?: string[];
  /**
   * The stack runs on a Swarm cluster (dropstack:nodes above 1): deployment_strategy and tags
   * mean something, and a tag no node has is an error, since Swarm could never place the service.
   */
  cluster?: boolean;
}

export interface ParseResult {
  spec: StackSpec;
  warnings: Diagnostic[];
}

let validateSchema: ReturnType<Ajv["compile"]> | undefined;

/** The service keys whose values may hold a secret variable, said in errors as here. */
const SECRET_PLACES = "environment, command, entrypoint, healthcheck, labels and build args";

/**
 * Where in a service a scalar at `path` (its ancestors, from the document down) is, when that
 * place may not hold a secret: the service key (`build` for a build's context or Dockerfile).
 * Undefined where a secret is allowed, or outside a service.
 */
function secretPlace(path: readonly unknown[]): string | undefined {
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

/** Parses and validates a Stackfile; throws StackfileError listing every problem. */
export function parseStackfile(
  text: string,
  file: string,
  options: ParseOptions = {},
): ParseResult {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    logLevel: "error",
    // `<<: *anchor` merge keys, which Docker Cloud's YAML 1.1 parser read and Compose files use.
    merge: true,
  });
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const at = (node: YAML.Node | YAML.Pair | null | undefined, message: string): Diagnostic => {
    const offset = (YAML.isPair(node) ? (node.key as YAML.Node) : node)?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, message };
  };
  const error = (node: YAML.Node | YAML.Pair | null | undefined, message: string) =>
    errors.push(at(node, message));
  const warn = (node: YAML.Node | YAML.Pair | null | undefined, message: string) =>
    warnings.push(at(node, message));

  for (const e of doc.errors) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    let message =
      e.code === "DUPLICATE_KEY"
        ? `${duplicateKeyAt(doc, e.pos[0])}: a later value would silently replace the first`
        : e.message.split("\n")[0];
    // `[A=${X}]`: braces end a flow collection in YAML, so ${...} there needs quotes.
    const lineText = text.split("\n")[line - 1] ?? "";
    if (/[[{]/.test(lineText) && lineText.includes("${") && !/["']/.test(lineText)) {
      message += ` (inside [ ] or { }, quote values that hold \${...}, like ["A=\${X}"])`;
    }
    errors.push({ file, line, column: col, message });
  }
  // A duplicate key leaves a readable document (the later value wins), so checking goes on and
  // every problem of the file is reported at once; a syntax error leaves none.
  if (doc.errors.some((e) => e.code !== "DUPLICATE_KEY")) throw new StackfileError(errors);

  const root = doc.contents;
  if (!YAML.isMap(root) || root.items.length === 0) {
    error(root, "a Stackfile is a map of service names to services, like `web: { image: nginx }`");
    throw new StackfileError(errors);
  }
  const composeKey = root.items.find(
    (p) =>
      (YAML.isScalar(p.key) && p.key.value === "services" && YAML.isMap(p.value)) ||
      (YAML.isScalar(p.key) && p.key.value === "version" && YAML.isScalar(p.value)),
  );
  if (composeKey !== undefined) {
    error(
      composeKey,
      "this is a Compose file (version: and services:), not a Stackfile; dropstack reads Docker Cloud's " +
        "format, where each top-level key is a service. To convert: move each service under services: to " +
        "the top level, drop version:, and turn top-level networks:, volumes: and secrets: into the " +
        "services' own keys (see docs/stackfile.md)",
    );
    throw new StackfileError(errors);
  }

  // Said once, at the first: the errors each such "service" gets do not say why.
  const misindented = misindentedKey(root, doc);
  if (misindented !== undefined) {
    error(
      misindented,
      `"${String((misindented.key as YAML.Scalar).value)}" is a service key, not a service name: ` +
        "the file looks mis-indented; each service's keys go under its name, indented",
    );
  }

  // Unknown keys first, with the nearest known one: the schema would only say "additional property".
  for (const pair of root.items) {
    if (!YAML.isMap(pair.value)) continue;
    for (const item of serviceItems(pair.value, doc)) {
      const key = String((item.key as YAML.Scalar).value);
      if (!SERVICE_KEYS.includes(key)) {
        const hint = nearest(key, SERVICE_KEYS);
        error(
          item,
          `unknown key "${key}" in service "${String((pair.key as YAML.Scalar).value)}"` +
            (hint ? `; did you mean "${hint}"?` : ""),
        );
      }
    }
  }

  // Interpolation runs on the text of every value before the schema sees it, as in Compose.
  const used = new Set<string>();
  const generated = new Set<string>();
  const unset = new Map<string, YAML.Node>();
  const vars = options.vars ?? {};
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
      let text = node.value;
      // The seed's `#NAME#` fill-in markers were instructions to the reader, not a Docker Cloud
      // feature: treat them as ${NAME}, and say so.
      text = text.replace(/#([A-Z][A-Z0-9_]*)#/g, (_m, name: string) => {
        warn(
          node,
          `"#${name}#" is a fill-in marker from the original guide, not Stackfile syntax; dropstack reads it as \${${name}}`,
        );
        return `\${${name}}`;
      });
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
  if (unset.size > 0) {
    const names = [...unset.keys()];
    error(
      unset.get(names[0]),
      `no value for ${names.map((n) => `\${${n}}`).join(", ")}; set ${names.length === 1 ? "it" : "them"} with ` +
        `\`npx pulumi config set --path stackVars.${names[0]} <value>\` (add --secret for a secret). ` +
        `Unset variables ending in PASSWORD, SECRET, TOKEN or KEY are generated`,
    );
  }

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

  let value: Record<string, Record<string, unknown>>;
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
  // The keys the schema rejected, by service: mapping skips them and reads the service's other
  // keys, so that one bad key hides no problem of the others.
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

  const names = new Set(root.items.map((p) => String((p.key as YAML.Scalar).value)));
  const drafts: ServiceDraft[] = [];
  const mapped = new Set<string>();
  for (const pair of root.items) {
    const name = String((pair.key as YAML.Scalar).value);
    // A duplicated service was reported above; its later value is the one read.
    if (mapped.has(name)) continue;
    // Only a map is a service; anything else was reported by the schema above.
    const raw: unknown = value[name];
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) continue;
    mapped.add(name);
    const node = pair.value as YAML.YAMLMap;
    const readable = Object.entries(raw).filter(([key]) => !rejected.get(name)?.has(key));
    const draft = mapService(name, Object.fromEntries(readable), {
      error: (key, message) => error(keyOf(node, key) ?? pair, message),
      warn: (key, message) => warn(keyOf(node, key) ?? pair, message),
      itemError: (key, index, message) => error(itemOf(node, key, index), message),
      nodeTags: options.nodeTags,
      cluster: options.cluster,
    });
    const buildKey = keyOf(node, "build");
    if (draft.build && buildKey?.range) {
      const { line, col } = lineCounter.linePos(buildKey.range[0]);
      draft.build.at = { line, column: col };
    }
    drafts.push(draft);
  }
  const services: ServiceSpec[] = [];
  for (const draft of drafts) {
    const service = { ...draft, restart: draft.restart ?? defaultRestart(draft, drafts) };
    services.push(service);
    // A restart the service sets is what it asks for, even for a one-shot (or, rejected above,
    // not what it asks for either).
    if (setsRestart(value[draft.name])) continue;
    const oneShot = service.restart === "unless-stopped" ? oneShotReason(service) : undefined;
    if (oneShot !== undefined) {
      warn(
        root.items.find((p) => String((p.key as YAML.Scalar).value) === service.name),
        `service "${service.name}" looks like a task that runs once (${oneShot}) and sets no ` +
          'restart: dropstack restarts it whenever it exits, over and over; set restart: "no" ' +
          "for a task that runs once, or on-failure for one to retry until it succeeds",
      );
    }
  }

  for (const problem of checkGraph(services, names, options.cluster)) {
    const servicePair = root.items.find((p) => (p.key as YAML.Scalar).value === problem.service)!;
    const serviceNode = servicePair.value as YAML.YAMLMap;
    const node =
      problem.index === undefined
        ? keyOf(serviceNode, problem.key)
        : itemOf(serviceNode, problem.key, problem.index);
    error(node ?? servicePair, problem.message);
  }
  const spec = { file, services, generated: [...generated], variables: [...used] };
  if (errors.length > 0) {
    errors.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new StackfileError(errors, warnings, spec);
  }
  return { spec, warnings };
}

/** Keys whose schema type is boolean. */
const BOOLEAN_KEYS = new Set(
  Object.entries(schema.definitions.service.properties as Record<string, { type?: unknown }>)
    .filter(([, p]) => p.type === "boolean")
    .map(([k]) => k),
);
const YAML_11_BOOLEANS: Record<string, boolean> = { yes: true, on: true, no: false, off: false };

/** Whether a service sets its restart policy (with restart, or Tutum's autorestart). */
function setsRestart(raw: Record<string, unknown>): boolean {
  return raw.restart !== undefined || raw.autorestart !== undefined;
}

/**
 * The first top-level name that is a service key and holds no service (its value is not a map,
 * or a map without a service key): a service's keys written at the top level.
 */
function misindentedKey(root: YAML.YAMLMap, doc: YAML.Document): YAML.Pair | undefined {
  const isServiceKey = (key: unknown) =>
    YAML.isScalar(key) && SERVICE_KEYS.includes(String(key.value));
  return (root.items as YAML.Pair[]).find(
    (pair) =>
      isServiceKey(pair.key) &&
      !(YAML.isMap(pair.value) && serviceItems(pair.value, doc).some((p) => isServiceKey(p.key))),
  );
}

/** A service's own keys, and the keys a `<<: *anchor` merge brings in. */
function serviceItems(service: YAML.YAMLMap, doc: YAML.Document): YAML.Pair[] {
  return service.items.flatMap((item) => {
    if (!isMergeKey(item.key)) return [item];
    const sources = YAML.isSeq(item.value) ? item.value.items : [item.value];
    return sources.flatMap((source) => {
      const target = YAML.isAlias(source) ? source.resolve(doc) : source;
      return YAML.isMap(target) ? (target.items as YAML.Pair[]) : [];
    });
  });
}

/** `<<`, which the yaml library reads as a symbol when merge keys are on. */
function isMergeKey(key: unknown): boolean {
  return (
    YAML.isScalar(key) &&
    (key.value === "<<" || (typeof key.value === "symbol" && key.value.description === "<<"))
  );
}

/** What a duplicate key at `offset` is: the key, and the service it is in. */
function duplicateKeyAt(doc: YAML.Document, offset: number): string {
  let found = "duplicate key";
  YAML.visit(doc, {
    Pair(_, pair, path) {
      const key = pair.key as YAML.Node | null;
      if (!YAML.isScalar(key) || key.range?.[0] !== offset) return;
      const parents = path.filter(YAML.isPair) as YAML.Pair[];
      const service =
        parents[0] && YAML.isScalar(parents[0].key) ? parents[0].key.value : undefined;
      found =
        service === undefined
          ? `duplicate service "${String(key.value)}"`
          : `duplicate key "${String(key.value)}" in service "${String(service)}"`;
      return YAML.visit.BREAK;
    },
  });
  return found;
}

/** The key of `key` in a service: where a problem with the whole key is reported. */
function keyOf(service: YAML.YAMLMap, key: string): YAML.Node | undefined {
  return service.items.find((p) => (p.key as YAML.Scalar).value === key)?.key as
    YAML.Node | undefined;
}

/**
 * Item `index` of a list-valued key, or the name `index` in a map-valued one (or the value
 * itself when it is neither).
 */
function itemOf(service: YAML.YAMLMap, key: string, index: number | string): YAML.Node | undefined {
  const value = service.get(key, true);
  const item =
    YAML.isSeq(value) && typeof index === "number"
      ? value.items[index]
      : YAML.isMap(value) && typeof index === "string"
        ? value.items.find((p) => YAML.isScalar(p.key) && String(p.key.value) === index)?.key
        : value;
  return (item as YAML.Node | undefined) ?? keyOf(service, key);
}

/** Where a service's problems go: at a key, or at one item (or name) of a list (or map) key. */
interface Reporter {
  error(key: string, message: string): void;
  warn(key: string, message: string): void;
  itemError(key: string, index: number | string, message: string): void;
  /** The node's tags, which a service's tags: should name. */
  nodeTags?: string[];
  /** On a Swarm cluster (see ParseOptions.cluster). */
  cluster?: boolean;
}

/** A Reporter for one key, so that a handler reports where its key is without naming it. */
interface KeyReporter {
  error(message: string): void;
  warn(message: string): void;
  itemError(index: number | string, message: string): void;
  nodeTags: readonly string[];
  cluster: boolean;
}

/**
 * A service as its own keys describe it. An unset restart stays unset here: its default depends
 * on the other services (see defaultRestart), so it is filled in once they are all read.
 */
type ServiceDraft = Omit<ServiceSpec, "restart"> & { restart?: RestartPolicy };

/** The keys the schema allows a service: the table below gives each a meaning, and no other. */
type ServiceKey = keyof typeof schema.definitions.service.properties;

/**
 * Reads one key the service sets: checks what the schema cannot (the schema has checked the
 * value's shape), and writes the key's part of the service.
 */
type KeyHandler = (value: unknown, service: ServiceDraft, report: KeyReporter) => void;

/** A value the schema has fully checked (a string, number, boolean or enum), taken as it is. */
function asIs<F extends Exclude<keyof ServiceDraft, "name">>(field: F): KeyHandler {
  return (value, service) => {
    service[field] = value as ServiceDraft[F];
  };
}

/** One string or a list of them, as a list (a number, as a port may be, as a string). */
function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

function stringList(field: "capAdd" | "capDrop" | "dns" | "dnsSearch" | "securityOpt"): KeyHandler {
  return (value, service) => {
    service[field] = list(value);
  };
}

/**
 * A list whose items each parse to a value, or to the problem with them (a string), reported at
 * the item so that every bad item is shown and the good ones are kept.
 */
function parsedItems<
  F extends "links" | "ports" | "expose" | "volumes" | "volumesFrom" | "devices" | "extraHosts",
>(field: F, parse: (text: string) => ServiceDraft[F][number] | string): KeyHandler {
  return (value, service, report) =>
    list(value).forEach((text, i) => {
      const item = parse(text);
      if (typeof item === "string") report.itemError(i, item);
      else (service[field] as ServiceDraft[F][number][]).push(item);
    });
}

/** A string command is split as a shell would: the container gets argv, not a shell line. */
function shellWords(field: "command" | "entrypoint"): KeyHandler {
  return (value, service, report) => {
    service[field] = words(value, report.error);
  };
}

/**
 * A map, or a list of NAME=value. A name with no value (`- NAME` in a list, `NAME:` in a map) took
 * its value from the deploying shell on Docker Cloud. `bareIsEmpty`: Docker and Compose take such
 * a label as one with an empty value; such a variable is more likely a value forgotten, so it is
 * an error, in either form alike.
 */
function keyValues(
  field: "environment" | "labels",
  { bareIsEmpty }: { bareIsEmpty: boolean },
): KeyHandler {
  return (value, service, report) => {
    const out: Record<string, string> = {};
    // `at`: the item of a list, or the name in a map; `fix`: the name with a value, in that form.
    const bare = (name: string, at: number | string, fix: string) => {
      if (bareIsEmpty) out[name] = "";
      else report.itemError(at, `"${name}" has no value; write ${fix} to take it from stackVars`);
    };
    if (!Array.isArray(value)) {
      for (const [name, x] of Object.entries(value as Record<string, unknown>)) {
        if (x === null) bare(name, name, `${name}: \${${name}}`);
        else out[name] = String(x);
      }
    } else {
      value.forEach((item: string, i) => {
        const eq = item.indexOf("=");
        if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
        else if (eq === 0) report.itemError(i, `"${item}" has no name before "="`);
        else bare(item, i, `${item}=\${${item}}`);
      });
    }
    service[field] = out;
  };
}

/** A size in bytes, as `docker run` reads `256m`; memswap_limit may also be -1, unlimited. */
function memorySize(field: "memLimit" | "memswapLimit", allowUnlimited: boolean): KeyHandler {
  return (value, service, report) => {
    const bytes = parseBytes(String(value), allowUnlimited);
    // At the value (item 0 of a key that is not a list), which is what is wrong.
    if (bytes === undefined)
      report.itemError(
        0,
        `"${value}" is not a memory size; write bytes or a number with b, k, m or g, like 256m`,
      );
    else service[field] = bytes;
  };
}

/** A key Docker Cloud took that dropstack cannot honour: the message says what to do instead. */
function rejected(message: string): KeyHandler {
  return (_value, _service, report) => report.error(message);
}

/** A key Docker Cloud took that means nothing here: accepted, with a warning when it is on. */
function noEffect(message: string, isOn: (value: unknown) => boolean = () => true): KeyHandler {
  return (value, _service, report) => {
    if (isOn(value)) report.warn(message);
  };
}

/**
 * What each service key means. Its type holds the table to exactly the schema's keys (which
 * SERVICE_KEYS lists and docs/stackfile.md describes), so the two cannot disagree on which keys
 * exist; a key outside them was reported before the schema ran, with the nearest known one.
 * Handlers run in this order, which is the order their problems come out in: warnings are not
 * sorted, and errors sorted by position keep it where they share one (keys a `<<` merge brings
 * in are reported at the service, or at the top of the file for an item).
 */
const SERVICE_KEY_HANDLERS: { readonly [K in ServiceKey]: KeyHandler } = {
  image: asIs("image"),
  build: (value, service) => {
    const build =
      typeof value === "string"
        ? { context: value }
        : (value as { context: string; dockerfile?: string; args?: Record<string, unknown> });
    service.build = {
      context: build.context,
      dockerfile: build.dockerfile,
      args: Object.fromEntries(Object.entries(build.args ?? {}).map(([k, v]) => [k, String(v)])),
    };
  },
  command: shellWords("command"),
  entrypoint: shellWords("entrypoint"),
  environment: keyValues("environment", { bareIsEmpty: false }),
  labels: keyValues("labels", { bareIsEmpty: true }),
  links: parsedItems("links", (link) => {
    const [target, alias, ...rest] = link.split(":");
    if (rest.length > 0 || target === "" || alias === "")
      return `"${link}" is not a link; write "service" or "service:alias"`;
    return { service: target, alias: alias ?? target };
  }),
  ports: parsedItems("ports", (p) => parsePort(p, true)),
  expose: parsedItems("expose", (p) => {
    const port = parsePort(p, false);
    return typeof port === "string" ? port : { port: port.container, protocol: port.protocol };
  }),
  volumes: parsedItems("volumes", parseVolume),
  volumes_from: parsedItems("volumesFrom", (v) => {
    const [from, mode, ...rest] = v.split(":");
    if (rest.length > 0 || from === "" || (mode !== undefined && mode !== "ro" && mode !== "rw"))
      return `"${v}" is not a volumes_from entry; write "service" or "service:ro"`;
    return { service: from, readOnly: mode === "ro" };
  }),
  devices: parsedItems("devices", (d) => {
    const [host, container, permissions, ...rest] = d.split(":");
    if (rest.length > 0 || !host.startsWith("/"))
      return `"${d}" is not a device; write /dev/host[:/dev/container[:rwm]]`;
    return { host, container: container ?? host, permissions: permissions ?? "rwm" };
  }),
  extra_hosts: parsedItems("extraHosts", (h) => {
    const colon = h.indexOf(":");
    if (colon <= 0) return `"${h}" is not an extra host; write host:ip`;
    return { host: h.slice(0, colon), ip: h.slice(colon + 1) };
  }),
  mem_limit: memorySize("memLimit", false),
  memswap_limit: memorySize("memswapLimit", true),
  restart: (value, service) => {
    service.restart = restartPolicy(value);
  },
  // Docker Cloud's older name for restart; when both are set, restart wins.
  autorestart: (value, service) => {
    service.restart ??= restartPolicy(value);
  },
  target_num_containers: asIs("replicas"),
  sequential_deployment: asIs("sequential"),
  privileged: asIs("privileged"),
  cap_add: stringList("capAdd"),
  cap_drop: stringList("capDrop"),
  net: asIs("networkMode"),
  pid: asIs("pidMode"),
  dns: stringList("dns"),
  dns_search: stringList("dnsSearch"),
  security_opt: stringList("securityOpt"),
  cgroup_parent: asIs("cgroupParent"),
  working_dir: asIs("workingDir"),
  user: asIs("user"),
  hostname: asIs("hostname"),
  domainname: asIs("domainname"),
  mac_address: asIs("macAddress"),
  cpu_shares: asIs("cpuShares"),
  cpuset: asIs("cpuset"),
  read_only: asIs("readOnly"),
  stdin_open: asIs("stdinOpen"),
  tty: asIs("tty"),
  healthcheck: (value, service, report) => {
    const h = value as {
      test: string | string[];
      interval?: string;
      timeout?: string;
      start_period?: string;
      retries?: number;
    };
    const test: string[] = Array.isArray(h.test) ? h.test : ["CMD-SHELL", h.test];
    // Checked, and spelt as Docker writes them back (see duration.ts).
    const timing = (key: "interval" | "timeout" | "start_period"): string | undefined => {
      const text = h[key];
      if (text === undefined) return undefined;
      const ns = parseDuration(String(text));
      if (ns === undefined) {
        report.error(
          `healthcheck ${key} "${text}" is not a duration; write a number with a unit, like 30s, 1m30s or 500ms`,
        );
        return undefined;
      }
      return goDuration(ns);
    };
    const healthcheck: HealthcheckSpec = {
      test,
      interval: timing("interval"),
      timeout: timing("timeout"),
      startPeriod: timing("start_period"),
      retries: h.retries,
    };
    service.healthcheck = healthcheck;
  },
  roles: rejected(
    "roles gave a container a Docker Cloud API token, with which images such as dockercloud/haproxy found their backends through Docker Cloud's API; that API is gone, so dropstack cannot honour it. Remove the key: with links to its backends, dockercloud/haproxy works in link mode from the link variables",
  ),
  external_links: rejected(
    "external_links is not supported (Docker Cloud did not support it either); link to a service in this Stackfile instead",
  ),
  env_file: rejected(
    "env_file is not supported (Docker Cloud did not support it either); use environment with ${VAR} and stackVars",
  ),
  autodestroy: noEffect(
    "autodestroy has no effect on dropstack: containers are kept until the stack changes",
    (value) => value !== "no" && value !== false,
  ),
  autoredeploy: noEffect(
    "autoredeploy has no effect on dropstack: `npx pulumi up` pulls an image only when its name or tag changes, so to deploy a new image give it a new tag (or pin it by digest, name@sha256:…) and run `npx pulumi up`",
    (value) => value === true,
  ),
  deployment_strategy: (value, service, report) => {
    service.deploymentStrategy = value as ServiceSpec["deploymentStrategy"];
    if (!report.cluster) {
      report.warn("deployment_strategy has no effect on one node: every container runs on it");
    }
  },
  tags: (value, service, report) => {
    service.tags = list(value);
    const missing = service.tags.filter((t) => !report.nodeTags.includes(t));
    if (missing.length === 0) return;
    if (report.cluster) {
      report.error(
        `no node of the cluster is tagged ${missing.join(", ")}, so Swarm could never place the ` +
          "service; tag a node with dropstack:nodeTags, or remove the tag",
      );
    } else {
      report.warn(
        `the node is not tagged ${missing.join(", ")}; dropstack deploys to its one node regardless`,
      );
    }
  },
};

/** Maps one service, whose shape the schema has checked, key by key through the table above. */
function mapService(name: string, raw: Record<string, unknown>, report: Reporter): ServiceDraft {
  // Docker Cloud's defaults, for the keys the service does not set.
  const service: ServiceDraft = {
    name,
    environment: {},
    links: [],
    ports: [],
    expose: [],
    volumes: [],
    volumesFrom: [],
    replicas: 1,
    sequential: false,
    tags: [],
    capAdd: [],
    capDrop: [],
    devices: [],
    dns: [],
    dnsSearch: [],
    extraHosts: [],
    labels: {},
    securityOpt: [],
  };
  for (const [key, handle] of Object.entries(SERVICE_KEY_HANDLERS)) {
    const value = raw[key];
    if (value === undefined) continue;
    handle(value, service, {
      error: (message) => report.error(key, message),
      warn: (message) => report.warn(key, message),
      itemError: (index, message) => report.itemError(key, index, message),
      nodeTags: report.nodeTags ?? [],
      cluster: report.cluster ?? false,
    });
  }
  return service;
}

/** The policy a restart or autorestart value stands for. */
function restartPolicy(value: unknown): RestartPolicy {
  switch (typeof value === "string" ? value.toLowerCase().replace("_", "-") : value) {
    case "no":
    case "off":
    case false:
      return "no";
    case "on-failure":
      return "on-failure";
    case "always":
      return "always";
    default:
      return "unless-stopped";
  }
}

/**
 * An unset restart: Docker Cloud's default was "no", but a rebooted node should bring the stack
 * back, so long-running services get `unless-stopped`. A data-only container (a volumes_from
 * source that publishes and exposes nothing, like tianon/true) exits at once and would loop, so
 * it keeps Docker Cloud's "no".
 */
function defaultRestart(service: ServiceDraft, services: ServiceDraft[]): RestartPolicy {
  const dataOnly =
    service.ports.length === 0 &&
    service.expose.length === 0 &&
    services.some((s) => s.volumesFrom.some((v) => v.service === service.name));
  return dataOnly ? "no" : "unless-stopped";
}

// Commands that do their work and exit, and images that exit at once without a command.
const ONE_SHOT_COMMANDS = new Set([
  "true",
  "chown",
  "chmod",
  "chgrp",
  "cp",
  "mv",
  "mkdir",
  "rm",
  "ln",
  "touch",
  "echo",
  "tar",
]);
const ONE_SHOT_IMAGES = /^(tianon\/true|busybox|alpine|hello-world)(:[^/]*)?$/;

/**
 * Why a service that listens on nothing looks like a one-shot (its command, or an image that
 * exits at once without one), or undefined: the unset-restart rule cannot tell it from a worker.
 */
function oneShotReason(service: ServiceSpec): string | undefined {
  if (service.ports.length > 0 || service.expose.length > 0) return undefined;
  let words = [...(service.entrypoint ?? []), ...(service.command ?? [])];
  // `sh -c "chown -R …"`: the script's first word.
  if (/^(\/bin\/)?(ba)?sh$/.test(words[0] ?? "") && words[1] === "-c" && words[2] !== undefined)
    words = words[2].trim().split(/\s+/);
  const program = words[0]?.split("/").pop();
  if (program !== undefined && ONE_SHOT_COMMANDS.has(program)) return `command: ${words.join(" ")}`;
  if (
    words.length === 0 &&
    !service.stdinOpen &&
    !service.tty &&
    ONE_SHOT_IMAGES.test(service.image ?? "")
  )
    return `image ${service.image} with no command`;
  return undefined;
}

/** Parses `H:C` or `C` (for expose, only `C`), each with an optional /tcp or /udp. */
export function parsePort(text: string, publish: boolean): PortSpec | string {
  const allowed = publish
    ? `write "host:container" or "container", each 1-65535, with an optional /tcp or /udp`
    : `write a port 1-65535 with an optional /tcp or /udp`;
  const match = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(text.trim());
  if (!match || (!publish && match[1] !== undefined)) return `"${text}" is not a port; ${allowed}`;
  const host = match[1] === undefined ? undefined : Number(match[1]);
  const container = Number(match[2]);
  if ((host !== undefined && (host < 1 || host > 65535)) || container < 1 || container > 65535) {
    return `"${text}" is not a port; ${allowed}`;
  }
  return { host, container, protocol: (match[3] as Protocol | undefined) ?? "tcp" };
}

/** Parses `/path`, `H:C` or `H:C:ro|rw`. Relative and named host paths go on the data volume. */
export function parseVolume(text: string): VolumeSpec | string {
  const parts = text.split(":");
  const bad = `"${text}" is not a volume; write "/container/path", "host:/container/path" or "host:/container/path:ro"`;
  if (parts.length > 3 || parts.some((p) => p === "")) return bad;
  if (parts.length === 1) {
    if (!parts[0].startsWith("/")) return bad;
    return { target: parts[0], onDataVolume: false, readOnly: false };
  }
  const [source, target, mode] = parts;
  if (!target.startsWith("/") || (mode !== undefined && mode !== "ro" && mode !== "rw")) return bad;
  if (source.startsWith("/"))
    return { source, target, onDataVolume: false, readOnly: mode === "ro" };
  const relative = source.replace(/^\.\//, "").replace(/^~\//, "");
  if (relative.split("/").includes(".."))
    return `"${text}": ".." may not leave the data volume; use an absolute host path instead`;
  return { source: relative, target, onDataVolume: true, readOnly: mode === "ro" };
}

/** Bytes from `256m`-style sizes, as `docker run` reads them. */
export function parseBytes(text: string, allowUnlimited: boolean): number | undefined {
  if (allowUnlimited && text.trim() === "-1") return -1;
  const match = /^(\d+)\s*([bkmg]?)b?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    match[2].toLowerCase() as "" | "b" | "k" | "m" | "g"
  ];
  return Number(match[1]) * unit;
}

/** A command as words: lists as given, strings split like a POSIX shell (quotes, backslashes). */
export function words(value: unknown, onError: (message: string) => void): string[] {
  if (Array.isArray(value)) return value.map(String);
  const text = String(value);
  const out: string[] = [];
  let current: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      current ??= "";
    } else if (c === "\\" && i + 1 < text.length) {
      current = (current ?? "") + text[++i];
    } else if (/\s/.test(c)) {
      if (current !== undefined) out.push(current);
      current = undefined;
    } else {
      current = (current ?? "") + c;
    }
  }
  if (quote) {
    onError(`unclosed ${quote} in "${text}"`);
    return [];
  }
  if (current !== undefined) out.push(current);
  return out;
}

/**
 * Of a oneOf's errors, those of the form the value evidently takes: environment written as a map
 * has its problem in the map (a value that is a list), not in "must be a list". A value of no
 * form the oneOf takes keeps only the oneOf's own error, which names every form.
 */
function chosenForms(errors: ErrorObject[]): ErrorObject[] {
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
function colonItemMessage(doc: YAML.Document, e: ErrorObject, path: string[]): string | undefined {
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

function dedupeSchemaErrors(errors: ErrorObject[]): ErrorObject[] {
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
function schemaMessage(e: ErrorObject, path: string[]): string {
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
