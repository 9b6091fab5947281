// Stand-ins for the images the default stack pulls (no registry is reachable here), under the
// names the program asks for, so the shipped stacks/datascience.yml and images/datascience run
// unchanged on the real engine:
// - quay.io/jupyter/datascience-notebook:<tag> (images/datascience's FROM): a real jupyter_server
//   2.x, pymongo and mongoengine from the Python package index, with docker-stacks' start.sh
//   behaviour that the image relies on (standins/notebook);
// - mongo:<tag>: a server that takes the real image's root-credential variables and speaks a line
//   protocol, for the wiring only (standins/mongo);
// - caddy:<version>: the release the node runs (scripts/caddy/build.sh), on the base image, with
//   the official image's command and settings.
// Each is rebuilt when its recipe changes (a label carries the recipe's hash); the wheels are
// cached by their requirement list.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CADDY_IMAGE } from "../../proxy/caddy";
import { caddyBinary } from "../caddy";
import { BASE_IMAGE } from "./base-image";
import { CACHE, DockerEngine } from "./docker-engine";

const ROOT = path.resolve(__dirname, "..", "..");
const HERE = path.join(__dirname, "standins");

/** What the notebook stand-in installs: the server line the image runs, and the image's clients. */
const WHEELS = ["pip", "jupyter_server==2.21.1", "pymongo==4.20.1", "mongoengine==0.29.3"];

/** The image images/datascience builds FROM. */
export function notebookBase(): string {
  const dockerfile = fs.readFileSync(
    path.join(ROOT, "images", "datascience", "Dockerfile"),
    "utf8",
  );
  const from = /^FROM\s+(\S+)/m.exec(dockerfile);
  if (from === null) throw new Error("images/datascience/Dockerfile has no FROM line");
  return from[1];
}

/** The image the default stack's mongo service pulls. */
export function mongoImage(): string {
  const stack = fs.readFileSync(path.join(ROOT, "stacks", "datascience.yml"), "utf8");
  const image = /^\s+image:\s+(mongo:\S+)/m.exec(stack);
  if (image === null) throw new Error("stacks/datascience.yml pulls no mongo image");
  return image[1];
}

/** Why the stand-ins cannot be made here, or undefined. */
export function standinsMissing(): string | undefined {
  if (caddyBinary() === undefined) return "Caddy is not built: run scripts/caddy/build.sh";
  if (jupyterPip() === undefined)
    return "the Jupyter environment is not built: run scripts/jupyter/build.sh";
  return undefined;
}

/** Builds the three stand-ins into the engine where they are missing or out of date. */
export function ensureStandins(engine: DockerEngine, log: (line: string) => void): void {
  // Wheels for the base image's Python, not this machine's: a dependency may ask for a newer
  // patch release than Debian's (soupsieve wants 3.11.5; bookworm has 3.11.2).
  const python = engine
    .docker([
      "run",
      "--rm",
      BASE_IMAGE,
      "python3",
      "-c",
      "import platform; print(platform.python_version())",
    ])
    .trim();
  const wheels = wheelhouse(python, log);
  build(engine, notebookBase(), path.join(HERE, "notebook"), { wheels }, log);
  build(engine, mongoImage(), path.join(HERE, "mongo"), {}, log);
  const caddy = caddyBinary()!;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-caddy-standin-"));
  try {
    fs.copyFileSync(caddy, path.join(work, "caddy"));
    fs.writeFileSync(
      path.join(work, "Dockerfile"),
      // The official image's settings: its state under /data and /config, its command.
      `FROM ${BASE_IMAGE}\nCOPY caddy /usr/bin/caddy\n` +
        "ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data\n" +
        "VOLUME /config /data\nEXPOSE 80 443 443/udp 2019\nWORKDIR /srv\n" +
        'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]\n',
    );
    build(engine, CADDY_IMAGE, work, {}, log);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The pip of scripts/jupyter/build.sh's environment (Python 3.11, as the base image's). */
function jupyterPip(): string | undefined {
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "jupyter", "build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const pip = path.join(path.dirname(r.stdout.trim()), "pip");
  return r.status === 0 && fs.existsSync(pip) ? pip : undefined;
}

/** The wheels of WHEELS and their dependencies for `python`, downloaded once into the cache. */
function wheelhouse(python: string, log: (line: string) => void): string {
  const key = crypto
    .createHash("sha256")
    .update(JSON.stringify([python, WHEELS]))
    .digest("hex")
    .slice(0, 12);
  const dir = path.join(CACHE, "standin-wheels", key);
  if (fs.existsSync(path.join(dir, ".complete"))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  log(`downloading ${WHEELS.join(" ")} and their dependencies for Python ${python} into ${dir}`);
  const r = spawnSync(
    jupyterPip()!,
    [
      "download",
      "--quiet",
      "--only-binary=:all:",
      "--python-version",
      python,
      "-d",
      dir,
      ...WHEELS,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`pip download failed:\n${(r.stdout + r.stderr).trim()}`);
  fs.writeFileSync(path.join(dir, ".complete"), "");
  return dir;
}

/** `docker build -t image` of `context` (plus folders copied in), unless the recipe is built. */
function build(
  engine: DockerEngine,
  image: string,
  context: string,
  extra: Record<string, string>,
  log: (line: string) => void,
): void {
  const hash = crypto.createHash("sha256");
  for (const file of fs.readdirSync(context).sort())
    hash.update(file).update(fs.readFileSync(path.join(context, file)));
  hash.update(JSON.stringify(Object.keys(extra))).update(JSON.stringify(WHEELS));
  const recipe = hash.digest("hex").slice(0, 12);
  const format = '{{index .Config.Labels "dropstack.standin"}}';
  const r = spawnSync("docker", ["image", "inspect", "--format", format, image], {
    env: { ...process.env, DOCKER_HOST: engine.host },
    encoding: "utf8",
  });
  if (r.status === 0 && r.stdout.trim() === recipe) return;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-standin-"));
  try {
    fs.cpSync(context, work, { recursive: true });
    for (const [name, dir] of Object.entries(extra))
      fs.cpSync(dir, path.join(work, name), { recursive: true });
    const start = Date.now();
    engine.docker(["build", "-q", "--label", `dropstack.standin=${recipe}`, "-t", image, work]);
    log(`built the stand-in ${image} in ${((Date.now() - start) / 1000).toFixed(0)} s`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
