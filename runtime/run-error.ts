import type { RunError } from "@pulumi/pulumi";

/**
 * A RunError, the error Pulumi prints as its message alone, without a stack. Pulumi never shows
 * a RunError's stack, but its Node.js runtime still renders the error with util.inspect for a
 * tracing span (cmd/run/run.js, uncaughtHandler), and under ts-node that maps every frame
 * through source maps: measured with the real engine, a config error took 16.5 s to report
 * instead of 2 s. Every error the program throws for bad input goes through here.
 */
export function runError(message: string): RunError {
  // The class from the SDK's errors module alone, loaded when an error is made: config/'s
  // rules throw these and the command line runs them without the rest of the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const errors = require("@pulumi/pulumi/errors") as typeof import("@pulumi/pulumi/errors");
  const error = new errors.RunError(message);
  error.stack = undefined;
  return error;
}
