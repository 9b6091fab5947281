// Finds Pebble, Let's Encrypt's test ACME server, and pebble-challtestsrv, its DNS stand-in,
// which the ACME test runs in Let's Encrypt's place: built by scripts/caddy/build-pebble.sh.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { testIf } from "./tools";

/** The Pebble release the test runs; scripts/caddy/build-pebble.sh reads it from here. */
export const PEBBLE_VERSION = "2.10.1";

/** DROPSTACK_PEBBLE (a folder with both binaries) if set, else the cached build, else undefined. */
export function pebbleDir(): string | undefined {
  if (process.env.DROPSTACK_PEBBLE) return process.env.DROPSTACK_PEBBLE;
  const cache = process.env.DROPSTACK_CACHE ?? path.join(os.homedir(), ".cache", "dropstack");
  const built = path.join(cache, "pebble", PEBBLE_VERSION);
  return fs.existsSync(path.join(built, ".complete")) ? built : undefined;
}

/** `test` when it is there; otherwise a skip, or under CI=true a failure, saying how to get it. */
export function testWithPebble(): jest.It {
  return testIf(
    pebbleDir() !== undefined,
    `Pebble ${PEBBLE_VERSION} is not built: run scripts/caddy/build-pebble.sh`,
  );
}
