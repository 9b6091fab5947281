// The stand-in images: no container registry is reachable, so the end-to-end Stackfile's images
// are built on a Debian root made here with debootstrap and imported with `docker import`, and
// the cluster checks' Swarm nodes run a second such root with Docker in it. Each root's tarball
// is cached by its recipe; the images themselves live in the engine.
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
/** A Swarm node for the cluster checks (cluster-checks.ts): Debian with its own dockerd. */
export const NODE_IMAGE = "dropstack-test/node:bookworm";

const SUITE = "bookworm";
export const MIRROR = process.env.DROPSTACK_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";

/** An image made from a Debian minbase root with these packages (and what they depend on). */
export interface Recipe {
  image: string;
  include: string[];
  /** The Debian release; bookworm unless given. */
  suite?: string;
  /** The image's command; /bin/bash unless given. */
  cmd?: string[];
  /**
   * Finishes the root after debootstrap, before it is cached (its network still reachable);
   * `version` names what it does, so that a changed step makes a new root.
   */
  finish?: { version: string; run: (root: string, log: (line: string) => void) => void };
}

// python3 (with its standard library) gives the stand-ins a web server, a TCP server and a
// resolver to probe with.
const BASE: Recipe = { image: BASE_IMAGE, include: ["python3"] };

// Bookworm's docker.io (20.10), as a droplet's Docker engine; procps for ps when one looks
// inside. Its iptables stays at Debian's default, iptables-nft: the kernel has nf_tables, each
// node's rules live in its own network namespace, and the harness's engine uses nft too, so
// there is nothing to gain from switching the node to iptables-legacy. Its command (dockerd and
// its flags) is given where the nodes are started, in cluster-checks.ts.
const NODE: Recipe = {
  image: NODE_IMAGE,
  include: ["docker.io", "iptables", "ca-certificates", "procps"],
};

/** Why the base image cannot be made here, or undefined when it can (or already exists). */
export function baseImageMissing(engine: DockerEngine): string | undefined {
  return imageMissing(engine, BASE);
}

/** Why the node image cannot be made here, or undefined when it can (or already exists). */
export function nodeImageMissing(engine: DockerEngine): string | undefined {
  return imageMissing(engine, NODE);
}

export function ensureBaseImage(engine: DockerEngine, log: (line: string) => void): void {
  ensureImage(engine, BASE, log);
}

export function ensureNodeImage(engine: DockerEngine, log: (line: string) => void): void {
  ensureImage(engine, NODE, log);
}

export function imageMissing(engine: DockerEngine, recipe: Recipe): string | undefined {
  if (hasImage(engine, recipe) || fs.existsSync(tarball(recipe))) return undefined;
  if (spawnSync("debootstrap", ["--version"]).status !== 0)
    return "debootstrap is not installed (apt-get install debootstrap)";
  if (process.getuid?.() !== 0) return "debootstrap needs root";
  return undefined;
}

/** The recipe's key: a changed recipe makes a new root and a new image. */
function key(recipe: Recipe): string {
  return crypto
    .createHash("sha256")
    .update(
      JSON.stringify([
        recipe.suite ?? SUITE,
        "minbase",
        recipe.include,
        ...(recipe.finish ? [recipe.finish.version] : []),
      ]),
    )
    .digest("hex")
    .slice(0, 12);
}

function tarball(recipe: Recipe): string {
  return path.join(CACHE, "images", `debian-${recipe.suite ?? SUITE}-minbase-${key(recipe)}.tar`);
}

/** Whether the engine has the image of this recipe (its data root outlives runs). */
function hasImage(engine: DockerEngine, recipe: Recipe): boolean {
  try {
    const format = '{{index .Config.Labels "dropstack.recipe"}}';
    const label = engine.docker(["image", "inspect", "--format", format, recipe.image]).trim();
    return label === key(recipe);
  } catch {
    return false;
  }
}

export function ensureImage(
  engine: DockerEngine,
  recipe: Recipe,
  log: (line: string) => void,
): void {
  if (hasImage(engine, recipe)) return;
  const tar = tarball(recipe);
  const include = recipe.include;
  const suite = recipe.suite ?? SUITE;
  if (!fs.existsSync(tar)) {
    const start = Date.now();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-debootstrap-"));
    try {
      const root = path.join(work, "root");
      log(`debootstrap ${suite} (minbase${include.map((p) => ` ${p}`).join("")}) from ${MIRROR}`);
      const r = spawnSync(
        "debootstrap",
        [
          "--variant=minbase",
          ...(include.length > 0 ? [`--include=${include.join(",")}`] : []),
          ...[suite, root, MIRROR],
        ],
        { encoding: "utf8" },
      );
      if (r.status !== 0)
        throw new Error(`debootstrap failed:\n${(r.stdout + r.stderr).trim().slice(-2000)}`);
      recipe.finish?.run(root, log);
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
  const changes = [
    ...["--change", `CMD ${JSON.stringify(recipe.cmd ?? ["/bin/bash"])}`],
    ...["--change", `LABEL dropstack.recipe=${key(recipe)}`],
  ];
  const r = spawnSync("docker", ["import", ...changes, tar, recipe.image], {
    env: { ...process.env, DOCKER_HOST: engine.host },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`docker import ${tar} failed: ${r.stderr.trim()}`);
  log(`imported ${recipe.image}`);
}
