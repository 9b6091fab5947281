// The stand-in base image: no container registry is reachable, so the end-to-end Stackfile's
// images are built on a Debian root made here with debootstrap and imported with `docker import`.
// The root's tarball is cached by its recipe; the image itself lives in the engine.
//
// The Docker provider uses an image already in the engine instead of pulling it: RemoteImage
// looks the name up among local images first and pulls only when it is missing, and a build's
// `FROM` of a local image does not pull either (no `pull` option is set).
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CACHE, DockerEngine } from "./docker-engine";

export const BASE_IMAGE = "dropstack-test/base:bookworm";

const SUITE = "bookworm";
const MIRROR = process.env.DROPSTACK_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
// python3 (with its standard library) gives the stand-ins a web server, a TCP server and a
// resolver to probe with.
const INCLUDE = ["python3"];

/** Why the base image cannot be made here, or undefined when it can (or already exists). */
export function baseImageMissing(engine: DockerEngine): string | undefined {
  if (hasImage(engine) || fs.existsSync(tarball())) return undefined;
  if (spawnSync("debootstrap", ["--version"]).status !== 0)
    return "debootstrap is not installed (apt-get install debootstrap)";
  if (process.getuid?.() !== 0) return "debootstrap needs root";
  return undefined;
}

/** The recipe's key: a changed recipe makes a new root and a new image. */
const RECIPE = crypto
  .createHash("sha256")
  .update(JSON.stringify([SUITE, "minbase", INCLUDE]))
  .digest("hex")
  .slice(0, 12);

function tarball(): string {
  return path.join(CACHE, "images", `debian-${SUITE}-minbase-${RECIPE}.tar`);
}

/** Whether the engine has the base image of this recipe (its data root outlives runs). */
function hasImage(engine: DockerEngine): boolean {
  try {
    const format = '{{index .Config.Labels "dropstack.recipe"}}';
    return engine.docker(["image", "inspect", "--format", format, BASE_IMAGE]).trim() === RECIPE;
  } catch {
    return false;
  }
}

export function ensureBaseImage(engine: DockerEngine, log: (line: string) => void): void {
  if (hasImage(engine)) return;
  const tar = tarball();
  if (!fs.existsSync(tar)) {
    const start = Date.now();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-debootstrap-"));
    try {
      const root = path.join(work, "root");
      log(`debootstrap ${SUITE} (minbase, ${INCLUDE.join(" ")}) from ${MIRROR}`);
      const r = spawnSync(
        "debootstrap",
        ["--variant=minbase", `--include=${INCLUDE.join(",")}`, SUITE, root, MIRROR],
        { encoding: "utf8" },
      );
      if (r.status !== 0)
        throw new Error(`debootstrap failed:\n${(r.stdout + r.stderr).trim().slice(-2000)}`);
      // Package lists and caches are not needed in a test image.
      for (const dir of ["var/cache/apt", "var/lib/apt/lists"])
        fs.rmSync(path.join(root, dir), { recursive: true, force: true });
      fs.mkdirSync(path.dirname(tar), { recursive: true });
      const t = spawnSync("tar", ["-C", root, "-cf", `${tar}.partial`, "."]);
      if (t.status !== 0) throw new Error(`tar of the Debian root failed: ${t.stderr}`);
      fs.renameSync(`${tar}.partial`, tar);
      log(`Debian root cached as ${tar} in ${((Date.now() - start) / 1000).toFixed(0)} s`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  const changes = ["--change", 'CMD ["/bin/bash"]', "--change", `LABEL dropstack.recipe=${RECIPE}`];
  const r = spawnSync("docker", ["import", ...changes, tar, BASE_IMAGE], {
    env: { ...process.env, DOCKER_HOST: engine.host },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`docker import ${tar} failed: ${r.stderr.trim()}`);
  log(`imported ${BASE_IMAGE}`);
}
