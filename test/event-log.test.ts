import { maxConcurrent, readEventLog } from "./engine/event-log";

/** An engine event as `pulumi up --event-log` writes it, one a line. */
function event(timestamp: number, kind: string, op: string, name: string, type: string) {
  const urn = `urn:pulumi:bench::dropstack::${type}::${name}`;
  return JSON.stringify({ sequence: 0, timestamp, [kind]: { metadata: { op, urn, type } } });
}

describe("reading the engine's event log", () => {
  const image = "docker:index/remoteImage:RemoteImage";
  const container = "docker:index/container:Container";
  const log = [
    JSON.stringify({ sequence: 0, timestamp: 100, preludeEvent: { config: {} } }),
    event(103, "resourcePreEvent", "same", "stack", "dropstack:index:Stack"),
    event(104, "resourcePreEvent", "create", "web-image", image),
    event(104, "resourcePreEvent", "create", "db-image", image),
    event(110, "resOutputsEvent", "create", "db-image", image),
    event(112, "resOutputsEvent", "create", "web-image", image),
    event(112, "resourcePreEvent", "create", "db-1", container),
    event(113, "resOpFailedEvent", "create", "db-1", container),
    event(113, "resourcePreEvent", "create", "web-1", container),
    event(115, "resOutputsEvent", "create", "web-1", container),
    JSON.stringify({ sequence: 0, timestamp: 116, summaryEvent: {} }),
  ].join("\n");

  test("gives each step its interval from the first event, and leaves out unchanged ones", () => {
    const { wall, firstStep, steps } = readEventLog(log);
    expect({ wall, firstStep }).toEqual({ wall: 16, firstStep: 4 });
    expect(steps.map((s) => [s.name, s.op, s.start, s.end, s.failed])).toEqual([
      ["web-image", "create", 4, 12, false],
      ["db-image", "create", 4, 10, false],
      ["db-1", "create", 12, 13, true],
      ["web-1", "create", 13, 15, false],
    ]);
  });

  test("counts steps that ran at once, and none for steps one after another", () => {
    const { steps } = readEventLog(log);
    expect(maxConcurrent(steps.filter((s) => s.type === image))).toBe(2);
    expect(maxConcurrent(steps.filter((s) => s.name === "web-image" || s.name === "web-1"))).toBe(
      1,
    );
  });
});
