// Reads the engine's own event log (`pulumi up --event-log FILE`: one JSON engine event a line)
// into what each resource step took, so a benchmark can say how long `up` took, where the time
// went, and whether independent steps ran at once: overlapping intervals, not the code's claim.
import * as fs from "fs";

/** One resource step (create, update, replace, delete...) from its pre-event to its outputs. */
export interface Step {
  urn: string;
  type: string;
  name: string;
  op: string;
  /** Seconds since the first event of the log. */
  start: number;
  end: number;
  failed: boolean;
}

export interface EventLog {
  /** The first event's time, in seconds since the epoch (whole seconds: the engine's stamps). */
  t0: number;
  /** From the first event to the last, in seconds. */
  wall: number;
  /** From the first event to the first resource step: the program's start and first registration. */
  firstStep: number;
  steps: Step[];
}

interface Metadata {
  op: string;
  urn: string;
  type: string;
}

/** The steps of an event log, in the order they started. Same-op steps the engine skips are left out. */
export function readEventLog(text: string): EventLog {
  const events = text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
  if (events.length === 0) return { t0: 0, wall: 0, firstStep: 0, steps: [] };
  const time = (e: { timestamp: number }) => e.timestamp;
  const t0 = Math.min(...events.map(time));
  const open = new Map<string, Step>();
  const steps: Step[] = [];
  for (const e of events) {
    const pre: Metadata | undefined = e.resourcePreEvent?.metadata;
    const done: Metadata | undefined = (e.resOutputsEvent ?? e.resOpFailedEvent)?.metadata;
    if (pre !== undefined && pre.op !== "same" && pre.op !== "read") {
      const step: Step = {
        urn: pre.urn,
        type: pre.type,
        name: pre.urn.split("::").pop()!,
        op: pre.op,
        start: time(e) - t0,
        end: Number.NaN,
        failed: false,
      };
      open.set(`${pre.op} ${pre.urn}`, step);
      steps.push(step);
    } else if (done !== undefined) {
      const step = open.get(`${done.op} ${done.urn}`);
      if (step !== undefined) {
        step.end = time(e) - t0;
        step.failed = e.resOpFailedEvent !== undefined;
        open.delete(`${done.op} ${done.urn}`);
      }
    }
  }
  const wall = Math.max(...events.map(time)) - t0;
  return { t0, wall, firstStep: steps.length > 0 ? steps[0].start : wall, steps };
}

export function readEventLogFile(file: string): EventLog {
  return readEventLog(fs.readFileSync(file, "utf8"));
}

/** The most steps of these that were running at one moment (an interval is [start, end]). */
export function maxConcurrent(steps: Step[]): number {
  const edges = steps
    .filter((s) => !Number.isNaN(s.end))
    .flatMap((s) => [
      { t: s.start, d: 1 },
      { t: s.end, d: -1 },
    ])
    // At one instant, starts before ends: timestamps are whole seconds, so steps that share a
    // second may have overlapped; this counts them as overlapping.
    .sort((a, b) => a.t - b.t || b.d - a.d);
  let now = 0;
  let most = 0;
  for (const edge of edges) {
    now += edge.d;
    most = Math.max(most, now);
  }
  return most;
}
