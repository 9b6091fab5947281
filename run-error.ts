import * as pulumi from "@pulumi/pulumi";

/**
 * A RunError, the error Pulumi prints as its message alone, without a stack. Pulumi never shows
 * a RunError's stack, but its Node.js runtime still renders the error with util.inspect for a
 * tracing span (cmd/run/run.js, uncaughtHandler), and under ts-node that maps every frame
 * through source maps: measured with the real engine, a config error took 16.5 s to report
 * instead of 2 s. Every error the program throws for bad input goes through here.
 */
export function runError(message: string): pulumi.RunError {
  const error = new pulumi.RunError(message);
  error.stack = undefined;
  return error;
}
