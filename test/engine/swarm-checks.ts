// A cluster's services as `docker stack deploy` runs them, on the harness's own engine made a
// one-node Swarm: test/engine/swarm/stack.yml exported with `dropstack compose --swarm`, its
// images built and its node labelled as the export's header says, then deployed. Checked: the
// replicas and the global task, the names a link variable can hold (alias, svc-N, service) and
// the link variables in a task, a sequential_deployment update going one task at a time, and
// `docker stack rm` leaving nothing. The engine leaves the swarm afterwards, whatever happened.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { expectEqual, tryDocker, waitUntil } from "./checks";
import type { Check } from "./checks";
import type { DockerEngine } from "./docker-engine";

/** A task of a Swarm service, as `docker inspect` shows it (the fields the checks read). */
interface Task {
  ID: string;
  Slot?: number;
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string; Timestamp: string };
  Spec: { ContainerSpec: { Env?: string[] } };
}

/** The variable the update adds: tasks that have it run the new spec. */
const UPDATE_ENV = "DROPSTACK_UPDATE=1";

export async function swarmChecks(
  engine: DockerEngine,
  project: string,
  prefix: string,
  check: Check,
): Promise<void> {
  const stack = `${prefix}-swarm`;
  const dir = path.join(project, "swarm-run");
  const file = path.join(dir, "stack.yml");
  const service = (name: string) => `${stack}_${name}`;
  const images: string[] = [];
  /** Why the checks after the deploy cannot run, once it has failed. */
  let notDeployed: string | undefined = "the deploy did not run";
  const afterDeploy = (name: string, fn: () => unknown) =>
    check(name, () => {
      if (notDeployed !== undefined) throw new Error(`not run: ${notDeployed}`);
      return fn();
    });

  try {
    // A swarm left by an interrupted run (the engine's data root outlives it) goes first.
    leaveSwarm(engine);
    await check(
      "docker stack deploy runs the --swarm export: 2 replicas, the global service on the labelled node",
      async () => {
        notDeployed = "the deploy failed";
        engine.docker(["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        const cli = spawnSync(
          process.execPath,
          [
            path.join(project, "bin", "dropstack.js"),
            "compose",
            path.join("test", "engine", "swarm", "stack.yml"),
            "--swarm",
            "--output",
            file,
          ],
          { cwd: project, encoding: "utf8" },
        );
        if (cli.status !== 0) throw new Error(`dropstack compose --swarm: ${cli.stderr}`);
        const exported = fs.readFileSync(file, "utf8");

        // What the header says to do first: build the images, label the node.
        const builds = headerCommands(exported, "docker build ");
        expectEqual(builds.length, 3, "docker build lines in the header");
        for (const build of builds) {
          images.push(build.split(" ")[3]);
          shell(engine, build, dir);
        }
        const node = engine.docker(["info", "--format", "{{.Swarm.NodeID}}"]).trim();
        const labels = headerCommands(exported, "docker node update ");
        expectEqual(
          labels,
          ["docker node update --label-add dropstack.tag.edge=true <node>"],
          "labels",
        );
        for (const label of labels) shell(engine, label.replace("<node>", node), dir);

        const deploy = spawnSync(
          "docker",
          ["stack", "deploy", "--resolve-image", "never", "-c", file, stack],
          { cwd: dir, env: { ...process.env, DOCKER_HOST: engine.host }, encoding: "utf8" },
        );
        if (deploy.status !== 0)
          throw new Error(`docker stack deploy: ${deploy.stdout}${deploy.stderr}`);
        // Stack deploy names each key it ignores ("Ignoring unsupported options: build"):
        // the export writes none of them.
        if (/Ignoring/.test(deploy.stderr))
          throw new Error(`docker stack deploy ignored some of the file:\n${deploy.stderr}`);

        await waitUntil(
          "every task running",
          () =>
            runningTasks(engine, service("web")).length === 2 &&
            runningTasks(engine, service("client")).length === 1 &&
            runningTasks(engine, service("agent")).length === 1,
          () => engine.docker(["stack", "ps", "--no-trunc", stack]),
        );
        expectEqual(
          engine.docker(["service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Replicas}}"]).trim(),
          [
            `${service("agent")} global 1/1`,
            `${service("client")} replicated 1/1`,
            `${service("web")} replicated 2/2`,
          ].join("\n"),
          "the stack's services",
        );
        notDeployed = undefined;
      },
    );

    await afterDeploy(
      "in a task, the link alias, svc-N and service names resolve and the link variables are set",
      () => {
        const [task] = runningTasks(engine, service("client"));
        const container = engine
          .docker(["ps", "-q", "--filter", `label=com.docker.swarm.task.id=${task.ID}`])
          .trim();
        const names = ["frontend", "frontend-1", "frontend-2", "web", "web-1", "web-2"];
        const script =
          "import socket\n" +
          `for n in ${JSON.stringify([...names, "client", "client-1", "agent"])}: socket.gethostbyname(n)\n` +
          'print("ok")';
        expectEqual(
          engine.docker(["exec", container, "python3", "-c", script]).trim(),
          "ok",
          "name resolution in the client's task",
        );
        const env = Object.fromEntries(
          (
            JSON.parse(
              engine.docker(["inspect", "--format", "{{json .Config.Env}}", container]),
            ) as string[]
          ).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
        );
        expectEqual(
          [
            env.FRONTEND_PORT,
            env.FRONTEND_PORT_8080_TCP_ADDR,
            env.FRONTEND_2_PORT_8080_TCP_ADDR,
            env.FRONTEND_ENV_GREETING,
          ],
          ["tcp://frontend:8080", "frontend", "frontend-2", "hello"],
          "the client's link variables for web:frontend",
        );
      },
    );

    await afterDeploy(
      "sequential_deployment: an update replaces web's 2 tasks one at a time (parallelism 1)",
      async () => {
        const web = service("web");
        expectEqual(
          JSON.parse(
            engine.docker(["service", "inspect", "--format", "{{json .Spec.UpdateConfig}}", web]),
          ).Parallelism,
          1,
          "UpdateConfig.Parallelism",
        );
        engine.docker(["service", "update", "--detach", "--env-add", UPDATE_ENV, web]);
        // Watched as it goes: never two tasks of the new spec on their way up at once.
        let mostStarting = 0;
        let state = "";
        await waitUntil(
          "the update to complete",
          () => {
            const starting = tasks(engine, web).filter(
              (t) => isNew(t) && t.DesiredState === "running" && t.Status.State !== "running",
            );
            mostStarting = Math.max(mostStarting, starting.length);
            state = engine
              .docker(["service", "inspect", "--format", "{{.UpdateStatus.State}}", web])
              .trim();
            return state === "completed" || state === "paused" || state.startsWith("rollback");
          },
          () => engine.docker(["service", "ps", "--no-trunc", web]),
          120,
          0.2,
        );
        expectEqual(state, "completed", "UpdateStatus.State");
        if (mostStarting > 1)
          throw new Error(`${mostStarting} tasks of the new spec were starting at once`);
        // And as Swarm recorded it: the second new task was created only once the first ran,
        // while the old task of the other slot still ran. All at once, both come together.
        const all = tasks(engine, web);
        const fresh = all
          .filter((t) => isNew(t) && t.Status.State === "running")
          .sort((a, b) => time(a.CreatedAt) - time(b.CreatedAt));
        expectEqual(fresh.length, 2, "running tasks of the new spec");
        const [first, second] = fresh;
        const firstRunning = time(first.Status.Timestamp);
        const oldOfSecond = all.find((t) => !isNew(t) && t.Slot === second.Slot);
        if (oldOfSecond === undefined) throw new Error(`no old task in slot ${second.Slot}`);
        const report = JSON.stringify(
          all.map((t) => [t.Slot, isNew(t), t.CreatedAt, t.Status.State, t.Status.Timestamp]),
        );
        if (time(second.CreatedAt) < firstRunning)
          throw new Error(`the second new task was created before the first ran: ${report}`);
        if (time(oldOfSecond.Status.Timestamp) < firstRunning)
          throw new Error(
            `the other slot's old task stopped before the first new one ran: ${report}`,
          );
      },
    );

    await check(
      "docker stack rm leaves no service, network, container or image of the stack",
      async () => {
        engine.docker(["stack", "rm", stack]);
        await waitUntil(
          "the stack to be gone",
          () => Object.values(leftovers(engine, stack)).every((l) => l.length === 0),
          () => JSON.stringify(leftovers(engine, stack)),
        );
        removeImages(engine, images);
        const kept = images.filter((i) => tryDocker(engine, ["image", "inspect", i]) !== undefined);
        expectEqual(kept, [], "images left");
        leaveSwarm(engine);
        expectEqual(
          engine.docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]).trim(),
          "inactive",
          "the engine's swarm state",
        );
      },
    );
  } finally {
    // Whatever happened above, leave nothing behind: leaving the swarm takes its services too.
    tryDocker(engine, ["stack", "rm", stack]);
    leaveSwarm(engine);
    removeImages(engine, images);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The commands the export's header gives, starting with `start` (`#   docker build ...`). */
function headerCommands(exported: string, start: string): string[] {
  return exported
    .split("\n")
    .filter((line) => line.startsWith(`#   ${start}`))
    .map((line) => line.slice(4));
}

/** Runs a command line from the header, as a user would, against the engine. */
function shell(engine: DockerEngine, command: string, cwd: string): void {
  const r = spawnSync("sh", ["-c", command], {
    cwd,
    env: { ...process.env, DOCKER_HOST: engine.host },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${command}:\n${r.stdout}${r.stderr}`);
}

function tasks(engine: DockerEngine, service: string): Task[] {
  const ids = engine.docker(["service", "ps", "-q", "--no-trunc", service]).split("\n");
  const present = ids.filter(Boolean);
  return present.length === 0 ? [] : JSON.parse(engine.docker(["inspect", ...present]));
}

function runningTasks(engine: DockerEngine, service: string): Task[] {
  return tasks(engine, service).filter(
    (t) => t.DesiredState === "running" && t.Status.State === "running",
  );
}

const isNew = (t: Task) => (t.Spec.ContainerSpec.Env ?? []).includes(UPDATE_ENV);

/** A Go timestamp (nanoseconds) in milliseconds. */
const time = (stamp: string) => Date.parse(stamp.replace(/(\.\d{3})\d*/, "$1"));

function leftovers(engine: DockerEngine, stack: string) {
  const label = `label=com.docker.stack.namespace=${stack}`;
  const ids = (args: string[]) => engine.docker(args).split("\n").filter(Boolean);
  return {
    services: ids(["service", "ls", "-q", "--filter", label]),
    networks: ids(["network", "ls", "-q", "--filter", label]),
    containers: ids(["ps", "-aq", "--filter", label]),
  };
}

function leaveSwarm(engine: DockerEngine): void {
  const state = tryDocker(engine, ["info", "--format", "{{.Swarm.LocalNodeState}}"])?.trim();
  if (state === "inactive" || state === undefined) return;
  tryDocker(engine, ["swarm", "leave", "--force"]);
  // The bridge swarm init made for its tasks' outside traffic; the engine had none before.
  tryDocker(engine, ["network", "rm", "docker_gwbridge"]);
}

function removeImages(engine: DockerEngine, images: string[]): void {
  for (const image of images) tryDocker(engine, ["rmi", "-f", image]);
}
