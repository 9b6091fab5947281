// The real Pulumi engine for the end-to-end tests: the CLI and its Node.js language host, built
// from their Go modules by scripts/engine/build.sh (cached by version), in a throwaway
// PULUMI_HOME per run. Nothing reaches the network: automatic plugin download is off (unless
// asked for), state is a local file backend, secrets use a fixed passphrase.
import { spawn, spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

export interface EnginePart {
  part: string;
  version: string;
  dir: string;
}

/** The provider plugins dropstack's packages ask the engine for. */
export const PROVIDERS = ["command", "digitalocean", "docker", "random", "tls"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** One provider plugin: the version its npm package asks for, and the binary found for it. */
export interface Plugin {
  name: ProviderName;
  /** The version the npm package in node_modules asks the engine for. */
  version: string;
  /** The binary to install, or undefined with `missing` saying why. */
  binary?: string;
  /** The folder's label when it is not `version` (the nearest build found). */
  label?: string;
  /** The first line of the folder's SOURCE file: what the binary was built from. */
  source?: string;
  missing?: string;
}

/**
 * Where the provider plugins come from: `download` (the engine fetches them, as for users), or
 * a folder of prebuilt ones laid out as `<dir>/<name>-v<label>/pulumi-resource-<name>`
 * (DROPSTACK_ENGINE_PLUGINS=<dir>, default ~/.cache/dropstack/plugins).
 */
export type PluginSource = { download: true } | { download: false; dir: string; plugins: Plugin[] };

/** The version of plugin `name` that its npm package makes the engine ask for. */
export function askedVersion(name: ProviderName): string {
  const pkg = JSON.parse(
    fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", name, "package.json"), "utf8"),
  );
  return String(pkg.pulumi?.version ?? pkg.version).replace(/^v/, "");
}

/** Reads DROPSTACK_ENGINE_PLUGINS and finds each plugin; never builds or downloads anything. */
export function findPlugins(setting = process.env.DROPSTACK_ENGINE_PLUGINS): PluginSource {
  if (setting === "download") return { download: true };
  const dir = path.resolve(setting || path.join(os.homedir(), ".cache", "dropstack", "plugins"));
  return { download: false, dir, plugins: PROVIDERS.map((name) => findPlugin(dir, name)) };
}

/** `<dir>/<name>-v<version>/`, else the one folder of another version for `name` (named as such). */
function findPlugin(dir: string, name: ProviderName): Plugin {
  const version = askedVersion(name);
  const exe = `pulumi-resource-${name}`;
  const folders = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.startsWith(`${name}-v`) && fs.existsSync(path.join(dir, f, exe)))
    : [];
  const exact = `${name}-v${version}`;
  const folder = folders.includes(exact) ? exact : folders.length === 1 ? folders[0] : undefined;
  if (folder === undefined) {
    const found = folders.length > 1 ? ` (found ${folders.join(", ")}; none is ${exact})` : "";
    return { name, version, missing: `no ${path.join(dir, exact, exe)}${found}` };
  }
  const sourceFile = path.join(dir, folder, "SOURCE");
  return {
    name,
    version,
    binary: path.join(dir, folder, exe),
    label: folder === exact ? undefined : folder.slice(name.length + 2),
    source: fs.existsSync(sourceFile)
      ? fs.readFileSync(sourceFile, "utf8").trim().split("\n")[0]
      : undefined,
  };
}

/** The plugins of `needs` that `source` lacks, as "name (why)"; [] when all are there. */
export function missingPlugins(source: PluginSource, needs: readonly ProviderName[]): string[] {
  if (source.download) return [];
  return source.plugins
    .filter((p) => needs.includes(p.name) && p.binary === undefined)
    .map((p) => `${p.name} ${p.version} (${p.missing})`);
}

export interface PulumiResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Why the engine cannot be built or found here, or undefined when it can. */
export function engineMissing(): string | undefined {
  if (spawnSync("go", ["version"]).status === 0) return undefined;
  return "Go is not installed, and the engine is built from Go modules";
}

/** Builds what the cache lacks; returns where each part is. */
export function buildEngine(): EnginePart[] {
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "engine", "build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) throw new Error("scripts/engine/build.sh failed (its output is above)");
  return r.stdout
    .trim()
    .split("\n")
    .map((line) => {
      const [part, version, dir] = line.split(" ");
      return { part, version, dir };
    });
}

export class Pulumi {
  readonly env: NodeJS.ProcessEnv;
  private readonly launcher = path.join(ROOT, "node_modules", "pulumi", "run.js");

  /**
   * A PULUMI_HOME under `home`, with the CLI where the `pulumi` npm package's launcher (what
   * `npx pulumi` runs) looks for its own version.
   */
  constructor(
    readonly home: string,
    parts: EnginePart[],
    dockerHost: string,
    plugins: PluginSource,
  ) {
    const cli = parts.find((p) => p.part === "cli")!;
    const launcherVersion = JSON.parse(
      fs.readFileSync(path.join(ROOT, "node_modules", "pulumi", "package.json"), "utf8"),
    ).version;
    const bin = path.join(home, "pulumi-home", "versions", launcherVersion, "bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const exe of ["pulumi", "pulumi-language-nodejs"])
      fs.symlinkSync(path.join(cli.dir, exe), path.join(bin, exe));
    fs.mkdirSync(path.join(home, "state"));
    this.env = {
      ...process.env,
      // Node first: the language host runs `node` from PATH, and the SDK needs Node >= 22.
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
      PULUMI_HOME: path.join(home, "pulumi-home"),
      PULUMI_BACKEND_URL: `file://${path.join(home, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "dropstack engine test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
      DOCKER_HOST: dockerHost,
      // A DigitalOcean token that no API ever sees: the dev and prod previews stop at the
      // endpoint below, on loopback, where nothing listens.
      DIGITALOCEAN_TOKEN: "engine-test-token",
      DIGITALOCEAN_API_URL: "http://127.0.0.1:9",
    };
    delete this.env.PULUMI_ACCESS_TOKEN;
    // Where the machine can reach Pulumi's download site, the engine fetches the plugins as it
    // does for users; else the prebuilt ones are installed at the versions the packages ask for.
    if (plugins.download) delete this.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION;
    else
      for (const p of plugins.plugins)
        if (p.binary !== undefined)
          this.ok(["plugin", "install", "resource", p.name, p.version, "--file", p.binary], home);
  }

  /** `npx pulumi ARGS` in `cwd`. */
  run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): PulumiResult {
    const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [this.launcher, ...args], {
      cwd,
      env: { ...this.env, ...env },
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * `npx pulumi ARGS` in `cwd` without blocking this process (for a server that must answer the
   * engine from here, like the emulated DigitalOcean API); `onOutput` sees each chunk.
   */
  runAsync(
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv = {},
    onOutput: (chunk: Buffer) => void = () => {},
  ): Promise<{ status: number; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.launcher, ...args], {
        cwd,
        env: { ...this.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        onOutput(chunk);
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("error", reject);
      child.on("close", (code) => resolve({ status: code ?? -1, output }));
    });
  }

  /** `pulumi stack init STACK` in `cwd`, then `pulumi config set KEY VALUE` for each entry. */
  initStack(stack: string, config: Record<string, string>, cwd: string): void {
    this.ok(["stack", "init", stack], cwd);
    for (const [key, value] of Object.entries(config))
      this.ok(["config", "set", key, value, "--stack", stack], cwd);
  }

  /** Like run, but throws with the command's output when it fails. */
  ok(args: string[], cwd: string): string {
    const r = this.run(args, cwd);
    if (r.status !== 0)
      throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${tail(r.stdout + r.stderr)}`);
    return r.stdout;
  }

  /**
   * SIGKILLs every process still running with this PULUMI_HOME (a killed run's plugins) and
   * waits until none is left; returns what was killed, as "pid name".
   */
  async killSurvivors(): Promise<string[]> {
    const home = this.env.PULUMI_HOME!;
    const killed: string[] = [];
    for (let round = 0; round < 50; round++) {
      const left = processesOf(home);
      if (left.length === 0) return killed;
      for (const pid of left) {
        try {
          const name = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
          process.kill(pid, "SIGKILL");
          if (round === 0) killed.push(`${pid} ${name}`);
        } catch {
          // already gone
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`processes of ${home} outlive SIGKILL: ${processesOf(home).join(", ")}`);
  }

  /**
   * Starts `pulumi ARGS` and kills its whole process group (CLI, language host, plugins) with
   * SIGKILL once its output matches `when`: a deploy cut off as by a lost machine.
   */
  killWhen(args: string[], cwd: string, when: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.launcher, ...args], {
        cwd,
        env: this.env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      let killed = false;
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (!killed && when.test(output)) {
          killed = true;
          process.kill(-child.pid!, "SIGKILL");
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", () =>
        killed
          ? resolve(output)
          : reject(new Error(`pulumi ${args.join(" ")} ended before ${when}:\n${tail(output)}`)),
      );
    });
  }
}

/** The PIDs of running processes whose environment has PULUMI_HOME=`home`. */
export function processesOf(home: string): number[] {
  const mark = `PULUMI_HOME=${home}\0`;
  return fs
    .readdirSync("/proc")
    .filter((f) => /^\d+$/.test(f) && Number(f) !== process.pid)
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, "latin1").includes(mark);
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    })
    .map(Number);
}

/** A copy of the project to run the engine in, so a run never writes into the checkout. */
export function copyProject(dir: string): string {
  const project = path.join(dir, "project");
  fs.cpSync(ROOT, project, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.git|\.dropstack)$/.test(src),
  });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
  return project;
}

/** The cached engine, if scripts/engine/build.sh has built this version; never builds. */
export function cachedEngine(): EnginePart[] | undefined {
  const version = JSON.parse(
    fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
  ).version;
  const dir = path.join(
    process.env.DROPSTACK_ENGINE_CACHE ?? path.join(os.homedir(), ".cache", "dropstack", "engine"),
    `cli-${version}`,
  );
  return fs.existsSync(path.join(dir, ".complete")) ? [{ part: "cli", version, dir }] : undefined;
}

export function tail(text: string, lines = 40): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}
