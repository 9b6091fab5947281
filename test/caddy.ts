// Finds the Caddy binary the tests validate and run the proxy's configuration with: the release
// the node runs (CADDY_VERSION), built by scripts/caddy/build.sh into the cache.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { testIf } from "./tools";
import { CADDY_VERSION } from "../proxy/caddy";

/** DROPSTACK_CADDY if set, else the cached build of CADDY_VERSION, else undefined. */
export function caddyBinary(): string | undefined {
  if (process.env.DROPSTACK_CADDY) return process.env.DROPSTACK_CADDY;
  const cache = process.env.DROPSTACK_CACHE ?? path.join(os.homedir(), ".cache", "dropstack");
  const built = path.join(cache, "caddy", CADDY_VERSION, "caddy");
  return fs.existsSync(built) ? built : undefined;
}

/** `test` when it is there; otherwise a skip, or under CI=true a failure, saying how to get it. */
export function testWithCaddy(): jest.It {
  return testIf(
    caddyBinary() !== undefined,
    `Caddy ${CADDY_VERSION} is not built: run scripts/caddy/build.sh (.ci/run does)`,
  );
}
