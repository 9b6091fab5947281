// The first step of reading a Stackfile: the YAML document with every node's position, its
// syntax errors, duplicate keys (said by key and service) and `<<: *anchor` merge keys, then the
// checks of the file as a whole: a map of services, not a Compose file, not mis-indented, and
// no service key unknown. Every later step reports through the Source this returns.
import * as YAML from "yaml";
import { StackfileError } from "./errors";
import { nearest } from "./nearest";
import { SERVICE_KEYS } from "./shape";
import { Diagnostic } from "./types";

/** A YAML node, or pair (reported at its key), that a problem is reported at. */
export type Place = YAML.Node | YAML.Pair | null | undefined;

/** The parsed document, with where its problems go. */
export interface ParsedYaml {
  text: string;
  file: string;
  doc: YAML.Document;
  lineCounter: YAML.LineCounter;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  error(node: Place, message: string): void;
  warn(node: Place, message: string): void;
}

/** The document whose root is a map of services. */
export interface Source extends ParsedYaml {
  root: YAML.YAMLMap;
}

/** Reads the YAML and checks the file as a whole; throws when nothing more can be read. */
export function readDocument(text: string, file: string): Source {
  const parsed = parseYaml(text, file);
  reportYamlErrors(parsed);
  const source = { ...parsed, root: serviceMap(parsed) };
  reportMisindented(source);
  reportUnknownKeys(source);
  return source;
}

/** The YAML document with positions, and the problem reporters that use them. */
function parseYaml(text: string, file: string): ParsedYaml {
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
  const at = (node: Place, message: string): Diagnostic => {
    const offset = (YAML.isPair(node) ? (node.key as YAML.Node) : node)?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, message };
  };
  const error = (node: Place, message: string) => errors.push(at(node, message));
  const warn = (node: Place, message: string) => warnings.push(at(node, message));
  return { text, file, doc, lineCounter, errors, warnings, error, warn };
}

/** The YAML's own errors; a syntax error ends the reading, a duplicate key does not. */
function reportYamlErrors({ doc, text, file, lineCounter, errors }: ParsedYaml): void {
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
}

/** The root as a map of services, or a StackfileError saying what the file is instead. */
function serviceMap({ doc, error, errors }: ParsedYaml): YAML.YAMLMap {
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
  return root;
}

/** Said once, at the first: the errors each such "service" gets do not say why. */
function reportMisindented({ root, doc, error }: Source): void {
  const misindented = misindentedKey(root, doc);
  if (misindented !== undefined) {
    error(
      misindented,
      `"${String((misindented.key as YAML.Scalar).value)}" is a service key, not a service name: ` +
        "the file looks mis-indented; each service's keys go under its name, indented",
    );
  }
}

/** Unknown keys first, with the nearest known one: the schema would only say "additional property". */
function reportUnknownKeys({ root, doc, error }: Source): void {
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
}

/**
 * The first top-level name that is a service key and holds no service (its value is not a map,
 * or a map without a service key): a service's keys written at the top level.
 */
export function misindentedKey(root: YAML.YAMLMap, doc: YAML.Document): YAML.Pair | undefined {
  const isServiceKey = (key: unknown) =>
    YAML.isScalar(key) && SERVICE_KEYS.includes(String(key.value));
  return (root.items as YAML.Pair[]).find(
    (pair) =>
      isServiceKey(pair.key) &&
      !(YAML.isMap(pair.value) && serviceItems(pair.value, doc).some((p) => isServiceKey(p.key))),
  );
}

/** A service's own keys, and the keys a `<<: *anchor` merge brings in. */
export function serviceItems(service: YAML.YAMLMap, doc: YAML.Document): YAML.Pair[] {
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
export function isMergeKey(key: unknown): boolean {
  return (
    YAML.isScalar(key) &&
    (key.value === "<<" || (typeof key.value === "symbol" && key.value.description === "<<"))
  );
}

/** What a duplicate key at `offset` is: the key, and the service it is in. */
export function duplicateKeyAt(doc: YAML.Document, offset: number): string {
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
export function keyOf(service: YAML.YAMLMap, key: string): YAML.Node | undefined {
  return service.items.find((p) => (p.key as YAML.Scalar).value === key)?.key as
    YAML.Node | undefined;
}

/**
 * Item `index` of a list-valued key, or the name `index` in a map-valued one (or the value
 * itself when it is neither).
 */
export function itemOf(
  service: YAML.YAMLMap,
  key: string,
  index: number | string,
): YAML.Node | undefined {
  const value = service.get(key, true);
  const item =
    YAML.isSeq(value) && typeof index === "number"
      ? value.items[index]
      : YAML.isMap(value) && typeof index === "string"
        ? value.items.find((p) => YAML.isScalar(p.key) && String(p.key.value) === index)?.key
        : value;
  return (item as YAML.Node | undefined) ?? keyOf(service, key);
}
