// Compose-style interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR, and $$ for a
// literal $. https://docs.docker.com/reference/compose-file/interpolation/

/** What a variable resolves to: its value, or undefined when unset. */
export type Lookup = (name: string) => string | undefined;

export interface InterpolationResult {
  value: string;
  /** Variables used without a value or a default. */
  unset: string[];
  /** Variables used at all. */
  used: string[];
  /** A `$` that starts no valid reference, with its offset in the text. */
  invalid?: { offset: number; text: string };
}

const REFERENCE =
  /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*)|(\{[^}]*\}?)|)/g;

export function interpolate(text: string, lookup: Lookup): InterpolationResult {
  const unset: string[] = [];
  const used: string[] = [];
  let invalid: InterpolationResult["invalid"];
  const value = text.replace(REFERENCE, (match, braced, op, fallback, bare, bad, offset) => {
    if (match === "$$") return "$";
    const name = braced ?? bare;
    if (name === undefined) {
      invalid ??= { offset, text: `$${bad ?? ""}` };
      return match;
    }
    used.push(name);
    const found = lookup(name);
    if (op === ":-" && (found === undefined || found === "")) return fallback;
    if (op === "-" && found === undefined) return fallback;
    if (found === undefined) {
      unset.push(name);
      return "";
    }
    return found;
  });
  return { value, unset, used, invalid };
}
