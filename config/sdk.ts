import type * as pulumi from "@pulumi/pulumi";

// The config rules are pure: the command line checks a stack's config with them, and loading the
// SDK (gRPC, OpenTelemetry, npm's package libraries) took a second of its start-up. Only what
// needs the SDK loads it, when it runs.
export function sdk(): typeof pulumi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("@pulumi/pulumi");
}

// The SDK knows which keys are secret but exports the check only from its runtime module.
// If that ever moves, treat every key as secret: safe, if over-cautious.
export function isConfigSecret(k: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as {
    isConfigSecret?: (key: string) => boolean;
  };
  return runtimeConfig.isConfigSecret ? runtimeConfig.isConfigSecret(k) : true;
}
