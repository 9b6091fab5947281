// Durations as Docker and the Docker provider read and write them (Go's time.Duration): a
// Stackfile's healthcheck timings are checked here, then passed on in the one spelling the
// provider reads back, so a second `up` sees no change ("60s" comes back as "1m0s").

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Nanoseconds from Go's duration syntax (`1m30s`, `1.5s`, `500ms`, `0`), or undefined. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let match = part.exec(text); match !== null; match = part.exec(text)) {
    total += Number(match[1]) * UNITS[match[2]];
    end = part.lastIndex;
  }
  return end === text.length && text.length > 0 ? Math.round(total) : undefined;
}

/** `n` as a decimal of `unit`, trailing zeros dropped: frac(1500, 1000) is "1.5". */
function decimal(n: number, unit: number): string {
  const whole = Math.floor(n / unit);
  const rest = n % unit;
  if (rest === 0) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(rest).padStart(digits, "0").replace(/0+$/, "")}`;
}

/** Nanoseconds as Go's Duration.String() writes them: "1m0s", "1.5s", "500ms", "0s". */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${decimal(ns, 1e3)}µs`;
  if (ns < 1e9) return `${decimal(ns, 1e6)}ms`;
  const hours = Math.floor(ns / 3600e9);
  const minutes = Math.floor((ns % 3600e9) / 60e9);
  const seconds = decimal(ns % 60e9, 1e9);
  return `${hours > 0 ? `${hours}h` : ""}${hours > 0 || minutes > 0 ? `${minutes}m` : ""}${seconds}s`;
}

/**
 * A Go duration string as the provider reads a Swarm service's back (its shortDur): "1m0s" is
 * "1m", "1h0m0s" is "1h". Container timings come back in Go's own spelling, goDuration's.
 */
export function swarmDuration(go: string): string {
  let s = go;
  if (s.endsWith("m0s")) s = s.slice(0, -2);
  if (s.endsWith("h0m")) s = s.slice(0, -2);
  return s;
}
