// A Docker engine for the end-to-end tests: the one DOCKER_HOST (or the default socket) names
// when it answers, else a `dockerd` of our own with its own data root and socket, stopped by
// its PID at the end. The data root lives in the cache, so the stand-in base image survives
// between runs.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface DockerEngine {
  /** The engine's address, for DOCKER_HOST. */
  host: string;
  /** Runs the docker client against the engine; returns stdout, throws with stderr. */
  docker(args: string[], input?: string | Buffer): string;
  /** Stops the engine if this harness started it. */
  stop(): Promise<void>;
}

export const CACHE = process.env.DROPSTACK_CACHE ?? path.join(os.homedir(), ".cache", "dropstack");

function answers(host: string | undefined): boolean {
  const env = { ...process.env };
  if (host === undefined) delete env.DOCKER_HOST;
  else env.DOCKER_HOST = host;
  const r = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], {
    env,
    encoding: "utf8",
    timeout: 15000,
  });
  return r.status === 0;
}

function client(host: string) {
  return (args: string[], input?: string | Buffer): string => {
    const r = spawnSync("docker", args, {
      env: { ...process.env, DOCKER_HOST: host },
      encoding: "utf8",
      input,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr.trim()}`);
    return r.stdout;
  };
}

/** Why no engine can be had here, or undefined when one can. */
export function dockerMissing(): string | undefined {
  if (spawnSync("docker", ["--version"]).status !== 0) return "the docker client is not installed";
  if (answers(process.env.DOCKER_HOST)) return undefined;
  if (spawnSync("dockerd", ["--version"]).status !== 0)
    return "no Docker engine answers and dockerd is not installed (apt-get install docker.io)";
  if (process.getuid?.() !== 0) return "no Docker engine answers, and dockerd needs root to start";
  return undefined;
}

export async function startDockerEngine(log: (line: string) => void): Promise<DockerEngine> {
  const given = process.env.DOCKER_HOST;
  if (answers(given)) {
    const host = given ?? "unix:///var/run/docker.sock";
    log(`using the Docker engine at ${host}`);
    return { host, docker: client(host), stop: async () => {} };
  }
  const run = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-dockerd-"));
  const host = `unix://${run}/docker.sock`;
  const dataRoot = path.join(CACHE, "dockerd");
  fs.mkdirSync(dataRoot, { recursive: true });
  const logFile = path.join(run, "dockerd.log");
  const daemon = spawn(
    "dockerd",
    [
      "--data-root",
      dataRoot,
      "--exec-root",
      path.join(run, "exec"),
      "-H",
      host,
      "--pidfile",
      path.join(run, "dockerd.pid"),
    ],
    { stdio: ["ignore", fs.openSync(logFile, "a"), fs.openSync(logFile, "a")] },
  );
  const exited = new Promise<void>((resolve) => daemon.once("exit", () => resolve()));
  const deadline = Date.now() + 60000;
  while (!answers(host)) {
    if (daemon.exitCode !== null || Date.now() > deadline) {
      daemon.kill("SIGTERM");
      const tail = fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-10).join("\n");
      throw new Error(`dockerd did not start within 60 s; its log ends:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`started dockerd (PID ${daemon.pid}) at ${host}, data root ${dataRoot}`);
  return {
    host,
    docker: client(host),
    stop: async () => {
      daemon.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30000))]);
      if (daemon.exitCode === null) daemon.kill("SIGKILL");
      try {
        fs.rmSync(run, { recursive: true, force: true });
      } catch {
        // A network namespace of the engine's (a swarm's ingress) can stay mounted there a
        // moment after it exits; the folder is in the temporary directory, and harmless.
      }
    },
  };
}
