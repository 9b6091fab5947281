// What the engine checks share: the shape of one check, an assertion with a message, and a
// docker command whose failure is not the point (cleanup, logs for a failure's message).
import type { DockerEngine } from "./docker-engine";

/** Runs one named check (run.ts records and prints it). */
export type Check = (name: string, fn: () => unknown) => Promise<void>;

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** A docker command's output, or undefined when it fails. */
export function tryDocker(engine: DockerEngine, args: string[]): string | undefined {
  try {
    return engine.docker(args);
  } catch {
    return undefined;
  }
}
