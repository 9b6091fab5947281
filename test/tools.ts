// Checks that use the real consumer of an artefact (cloud-init, shellcheck, jupyter_server,
// docker-compose). Outside CI a missing tool skips the test and says so; under CI=true a
// missing tool fails it, since .ci/run installs them all.
import { spawnSync } from "child_process";

export function hasTool(command: string, args: string[] = ["--version"]): boolean {
  const result = spawnSync(command, args, { stdio: "ignore" });
  return result.error === undefined && result.status === 0;
}

/** `test` when the tool is there; otherwise a skipped test (or, under CI, a failing one). */
export function testWithTool(command: string, probeArgs: string[] = ["--version"]): jest.It {
  return testIf(
    hasTool(command, probeArgs),
    `${command}: not installed (apt-get install it, or run .ci/run)`,
  );
}

/**
 * `test` when what the tests need is `there`; otherwise a skipped test that says `why`, or under
 * CI=true (where .ci/run provides everything) a failing one.
 */
export function testIf(there: boolean, why: string): jest.It {
  if (there) return test;
  if (process.env.CI === "true") {
    return ((name: string) =>
      test(name, () => {
        throw new Error(`${why}; it is required under CI=true`);
      })) as unknown as jest.It;
  }
  // One plain line: jest prints a console.warn with a code frame and a stack.
  process.stderr.write(`skipping tests: ${why}\n`);
  return test.skip;
}

/** `test` when every gate is; otherwise the first that is not (a skip, or under CI a failure). */
export function testWithAll(...gates: jest.It[]): jest.It {
  return gates.find((gate) => gate !== test) ?? test;
}

/** Runs a command; returns its exit status and combined output. */
export function run(
  command: string,
  args: string[],
  input?: string,
  env?: NodeJS.ProcessEnv,
): { status: number; output: string } {
  const result = spawnSync(command, args, { input, encoding: "utf8", env });
  return { status: result.status ?? -1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}
