// What the engine checks share: the shape of one check, an assertion with a message, a docker
// command whose failure is not the point (cleanup, logs for a failure's message), and a wait.
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

/**
 * Waits, polling every `every` seconds, until `done()`; after `seconds`, fails with what it
 * waited for and `state()` (or why that could not be read).
 */
export async function waitUntil(
  what: string,
  done: () => boolean,
  state: () => string,
  seconds = 90,
  every = 0.5,
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!done()) {
    if (Date.now() > deadline)
      throw new Error(`waited ${seconds} s for ${what}; the state:\n${tryState(state)}`);
    await new Promise((r) => setTimeout(r, every * 1000));
  }
}

function tryState(state: () => string): string {
  try {
    return state();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
