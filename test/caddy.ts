// Finds the Caddy binary the tests validate and run the proxy's configuration with: the release
// the node runs (CADDY_VERSION), built by scripts/caddy/build.sh into the cache.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CADDY_VERSION } from "../proxy/caddy";

/** DROPSTACK_CADDY if set, else the cached build of CADDY_VERSION, else undefined. */
export function caddyBinary(): string | undefined {
  if (process.env.DROPSTACK_CADDY) return process.env.DROPSTACK_CADDY;
  const cache = process.env.DROPSTACK_CACHE ?? path.join(os.homedir(), ".cache", "dropstack");
  const built = path.join(cache, "caddy", CADDY_VERSION, "caddy");
  return fs.existsSync(built) ? built : undefined;
}

/** `test` when Caddy is built; otherwise a skipped test, or under CI=true a failing one. */
export function testWithCaddy(): jest.It {
  if (caddyBinary() !== undefined) return test;
  const why = `Caddy ${CADDY_VERSION} is not built: run scripts/caddy/build.sh (.ci/run does)`;
  if (process.env.CI === "true") {
    return ((name: string) =>
      test(name, () => {
        throw new Error(`${why}; it is required under CI=true`);
      })) as unknown as jest.It;
  }
  console.warn(`skipping tests that need Caddy: ${why}`);
  return test.skip;
}
