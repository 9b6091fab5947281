// The value syntaxes of a service's keys: ports, volumes, byte sizes and commands as words.
import { PortSpec, Protocol, VolumeSpec } from "./types";

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
