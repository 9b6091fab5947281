import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseStackfile, SERVICE_KEYS, StackfileError } from "../stackfile";
import { ROOT } from "./harness";

const FIXTURES = [
  "stacks/datascience.yml",
  "test/fixtures/multi.yml",
  "test/fixtures/every-key.yml",
  "test/fixtures/seed-stackfile.yml",
].map((f) => fs.readFileSync(path.join(ROOT, f), "utf8"));

/** Parsing either succeeds or throws a StackfileError whose every diagnostic has a position. */
function parsesOrExplains(text: string): void {
  try {
    parseStackfile(text, "prop.yml", { vars: { USERNAME: "u" } });
  } catch (e) {
    if (!(e instanceof StackfileError)) throw e;
    expect(e.diagnostics.length).toBeGreaterThan(0);
    for (const d of e.diagnostics) {
      expect(d.file).toBe("prop.yml");
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.column).toBeGreaterThanOrEqual(1);
      expect(d.message.length).toBeGreaterThan(0);
    }
  }
}

const mutation = fc.oneof(
  // Delete a slice.
  fc.tuple(
    fc.constant("delete" as const),
    fc.nat(),
    fc.integer({ min: 1, max: 20 }),
    fc.constant(""),
  ),
  // Insert text: YAML punctuation and interpolation fragments are the likely breakers.
  fc.tuple(
    fc.constant("insert" as const),
    fc.nat(),
    fc.constant(0),
    fc.oneof(
      fc.string(),
      fc.constantFrom(
        ":",
        "- ",
        "\n",
        "  ",
        "[",
        "{",
        "}",
        "]",
        '"',
        "'",
        "${",
        "$$",
        "#X#",
        "&a",
        "*a",
        "!!int ",
        "<<: *a",
        "\t",
        "?",
      ),
    ),
  ),
  // Replace a slice with a key the schema knows, or a value of another type.
  fc.tuple(
    fc.constant("replace" as const),
    fc.nat(),
    fc.integer({ min: 1, max: 10 }),
    fc.oneof(
      fc.constantFrom(...SERVICE_KEYS.map((k) => `${k}: `)),
      fc.constantFrom("true", "[]", "{}", "null", "-1", "0x10", "1e9"),
    ),
  ),
);

function mutate(
  text: string,
  [kind, at, length, insert]: [string, number, number, string],
): string {
  const i = at % (text.length + 1);
  if (kind === "insert") return text.slice(0, i) + insert + text.slice(i);
  return text.slice(0, i) + insert + text.slice(i + length);
}

describe("the Stackfile parser, on input nobody wrote on purpose", () => {
  test("explains arbitrary text with positions, never anything else", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => parsesOrExplains(text)),
      { numRuns: 300 },
    );
  });

  test("explains mutated real Stackfiles with positions, never anything else", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FIXTURES),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (text, mutations) => parsesOrExplains(mutations.reduce(mutate, text)),
      ),
      { numRuns: 500 },
    );
  });

  test("explains services with known keys and values of any type", () => {
    const service = fc.dictionary(
      fc.constantFrom(...SERVICE_KEYS, "imgae", "unknown"),
      fc.oneof(
        fc.jsonValue(),
        fc.constantFrom("80:8888", "db:alias", "./x:/y:ro", "${A}", "256m", "always"),
      ),
      { maxKeys: 8 },
    );
    const stackfile = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), service, {
      minKeys: 1,
      maxKeys: 4,
    });
    fc.assert(
      fc.property(stackfile, (doc) => parsesOrExplains(YAML.stringify(doc))),
      { numRuns: 500 },
    );
  });
});
