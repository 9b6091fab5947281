// `npm run test:engine`: dropstack on the real Pulumi engine and a real Docker engine. The CLI
// and its language host are built from their Go modules (scripts/engine/build.sh, cached) and
// driven with the same `npx pulumi` commands the README gives users: previews of every shipped
// stack, bad input as users see it, the compose export of test/engine/stack/ on Docker, and what
// up does on the Docker host besides containers (host-checks.ts: image ports, the HTTPS proxy),
// the --swarm export on a one-node swarm (swarm-checks.ts), and scripts/swarm.sh forming a real
// four-node swarm of Docker-in-Docker nodes (cluster-checks.ts).
// The deploy checks (up, probes, edits, an up cut off half-way, destroy) need the provider
// plugins: prebuilt ones from DROPSTACK_ENGINE_PLUGINS=<dir> (default ~/.cache/dropstack/plugins,
// laid out as <dir>/<name>-v<version>/pulumi-resource-<name>), or DROPSTACK_ENGINE_PLUGINS=download
// where the engine can fetch them. Checks whose plugins are missing are named as not run, with
// the reason, above the closing line. Prints `N passed, N failed` last. Without Go, Docker or
// root it says that it skipped and why; under CI=true a skip is a failure.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { baseImageMissing, ensureBaseImage } from "./base-image";
import { expectEqual } from "./checks";
import { DockerEngine, dockerMissing, startDockerEngine } from "./docker-engine";
import { hostChecks } from "./host-checks";
import { swarmChecks } from "./swarm-checks";
import { clusterChecks } from "./cluster-checks";
import { datascienceChecks } from "./datascience-checks";
import { emulatorChecks } from "./emulator-checks";
import { emulatedChecks } from "./emulated-checks";
import { emulatedClusterChecks } from "./emulated-cluster-checks";
import { emulatedBackupChecks } from "./emulated-backup-checks";
import { dropletImageMissing, ensureDropletImage } from "../emulator/droplet-image";
import { backupChecks, backupToolsMissing, renamedKeyCheck } from "./backup-checks";
import { backupImageChecks } from "./backup-image-checks";
import { ensureStandins, standinsMissing } from "./standins";
import {
  buildEngine,
  copyProject,
  engineMissing,
  findPlugins,
  missingPlugins,
  ProviderName,
  Pulumi,
  tail,
} from "./pulumi-engine";

const STACK = "e2e";
const PREFIX = `dropstack-${STACK}`;
const log = (line: string) => process.stdout.write(`  ${line}\n`);

interface Result {
  name: string;
  error?: string;
}
const results: Result[] = [];
let blocked: string | undefined;

/** One check. A failing `gate` check stops the checks after it that need its outcome. */
async function check(name: string, fn: () => unknown, gate = false): Promise<void> {
  if (blocked !== undefined) {
    results.push({ name, error: `not run: "${blocked}" failed` });
    process.stdout.write(`✗ ${name}\n    not run: "${blocked}" failed\n`);
    return;
  }
  const start = Date.now();
  try {
    await fn();
    results.push({ name });
    process.stdout.write(`✓ ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)\n`);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    results.push({ name, error });
    process.stdout.write(`✗ ${name}\n${error.replace(/^/gm, "    ")}\n`);
    if (gate) blocked = name;
  }
}

/** `docker inspect --format FORMAT NAME`, trimmed. */
function inspect(engine: DockerEngine, name: string, format: string): string {
  return engine.docker(["inspect", "--format", format, name]).trim();
}

async function main(): Promise<number> {
  const why = engineMissing() ?? dockerMissing();
  if (why !== undefined) {
    const verdict = process.env.CI === "true" ? "FAILED (CI=true: a skip is a failure)" : "skipped";
    process.stdout.write(`test:engine ${verdict}: ${why}\n0 passed, 0 failed\n`);
    return process.env.CI === "true" ? 1 : 0;
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-engine-"));
  let engine: DockerEngine | undefined;
  let pulumi: Pulumi | undefined;
  let project = "";
  try {
    process.stdout.write(
      "setting up: the engine (scripts/engine/build.sh), Docker, the base image\n",
    );
    const parts = buildEngine();
    for (const p of parts) log(`${p.part} ${p.version}: ${p.dir}`);
    if (PLUGINS.download) log("provider plugins: downloaded by the engine");
    else
      for (const p of PLUGINS.plugins)
        log(
          p.binary === undefined
            ? `plugin ${p.name} ${p.version}: missing, ${p.missing}`
            : `plugin ${p.name} ${p.version}: ${p.binary}${p.label ? ` (built as ${p.label})` : ""}${p.source ? `; ${p.source}` : ""}`,
        );
    engine = await startDockerEngine(log);
    const noBase = baseImageMissing(engine);
    if (noBase !== undefined) throw new Error(`the stand-in base image cannot be made: ${noBase}`);
    ensureBaseImage(engine, log);
    removeLeftovers(engine);
    pulumi = new Pulumi(work, parts, engine.host, PLUGINS);
    project = copyProject(work);
    log(`project copy: ${project}`);
    await checks(pulumi, engine, project);
  } catch (e) {
    results.push({ name: "setting up", error: e instanceof Error ? e.message : String(e) });
    process.stdout.write(`✗ setting up\n${String(e instanceof Error ? e.message : e)}\n`);
  } finally {
    if (pulumi && project && deployed) {
      // Whatever happened above, leave nothing behind.
      pulumi.run(["cancel", "--yes", "--stack", STACK], project);
      pulumi.run(["destroy", "--yes", "--stack", STACK], project);
    }
    if (engine) {
      removeLeftovers(engine);
      await engine.stop();
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.error !== undefined).length;
  for (const b of notRunHere) process.stdout.write(`\nnot run here: ${b}\n`);
  process.stdout.write(`\n${results.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

/** Containers, networks and volumes of the test stack left by an earlier, interrupted run. */
function removeLeftovers(engine: DockerEngine): void {
  const ids = (args: string[]) => engine.docker(args).split("\n").filter(Boolean);
  const containers = ids(["ps", "-aq", "--filter", `name=^${PREFIX}-`]);
  if (containers.length) engine.docker(["rm", "-f", ...containers]);
  const networks = ids(["network", "ls", "-q", "--filter", `name=^${PREFIX}$`]);
  if (networks.length) engine.docker(["network", "rm", ...networks]);
  const volumes = ids(["volume", "ls", "-q", "--filter", `name=^${PREFIX}-`]);
  if (volumes.length) engine.docker(["volume", "rm", "-f", ...volumes]);
}

/** Where the provider plugins come from (see pulumi-engine.ts, findPlugins). */
const PLUGINS = findPlugins();
/** Checks this run could not do, and why: printed before the closing line. */
const notRunHere: string[] = [];
/** Whether the deploy checks started, so that whatever happens their stack is destroyed. */
let deployed = false;

/** Runs `group` when its plugins are there; else names it as not run, with what is missing. */
async function withPlugins(
  what: string,
  needs: ProviderName[],
  group: () => Promise<void>,
): Promise<void> {
  const missing = missingPlugins(PLUGINS, needs);
  if (missing.length === 0) return group();
  notRunHere.push(
    `${what}: missing plugins: ${missing.join("; ")}. Build them (README, "The real ` +
      'engine"), or where the engine can download them, run with DROPSTACK_ENGINE_PLUGINS=download',
  );
}

/**
 * `--emulated` (npm run test:emulated): the emulated DigitalOcean whose droplets boot, apart
 * because it takes longer and needs more of the machine (root, loop devices, the droplet image).
 */
const EMULATED = process.argv.includes("--emulated");

/**
 * The groups of checks to run: DROPSTACK_ENGINE_CHECKS=deploy,datascience (say) runs only those,
 * to work on one part; unset, every group. The closing line counts what ran.
 */
const GROUPS = EMULATED
  ? ["emulated", "emulated-backup", "emulated-cluster"]
  : [
      "engine",
      "compose",
      "host",
      "swarm",
      "cluster",
      "deploy",
      "datascience",
      "emulator",
      "backup",
    ];
const chosen = (process.env.DROPSTACK_ENGINE_CHECKS ?? "").split(",").filter(Boolean);
for (const g of chosen)
  if (!GROUPS.includes(g))
    throw new Error(
      `DROPSTACK_ENGINE_CHECKS: no group "${g}"; the groups are ${GROUPS.join(", ")}`,
    );
const runs = (group: string) =>
  GROUPS.includes(group) && (chosen.length === 0 || chosen.includes(group));

async function checks(pulumi: Pulumi, engine: DockerEngine, project: string): Promise<void> {
  if (chosen.length > 0) log(`only the groups ${chosen.join(", ")} (DROPSTACK_ENGINE_CHECKS)`);
  if (runs("engine")) await engineChecks(pulumi, project);
  if (runs("compose")) await composeChecks(engine, project);
  if (runs("host")) await hostChecks(engine, project, PREFIX, check);
  if (runs("swarm")) await swarmChecks(engine, project, PREFIX, check);
  if (runs("cluster")) await clusterChecks(engine, project, PREFIX, check);
  if (runs("deploy"))
    await withPlugins(
      "the deploy checks (pulumi up, the url and password, names and link variables in the " +
        "containers, secrets in the state, no changes on a second up, edits, an up killed " +
        "half-way, destroy)",
      ["docker", "random", "command"],
      () => {
        deployed = true;
        return deployChecks(pulumi, engine, project);
      },
    );
  if (runs("datascience"))
    await withPlugins(
      "the default stack's checks (stacks/datascience.yml with tls internal: up, login over " +
        "HTTPS, Mongo's credentials, destroy)",
      ["docker", "random", "command", "tls"],
      async () => {
        const why = standinsMissing();
        if (why !== undefined) throw new Error(`the stand-in images cannot be made: ${why}`);
        ensureStandins(engine, log);
        await datascienceChecks(pulumi, engine, project, check);
      },
    );
  if (runs("emulator"))
    await withPlugins(
      "the emulated DigitalOcean checks (up of dev against the emulated API up to the " +
        "droplet's SSH, a refresh with no changes, destroy)",
      ["digitalocean", "docker", "random", "command", "tls"],
      () => emulatorChecks(pulumi, project, check),
    );
  if (runs("backup")) {
    await backupChecks(engine, PREFIX, check, notRunHere);
    // moto too (backupChecks has said why not, where it cannot run).
    if (backupToolsMissing() === undefined) await backupImageChecks(engine, PREFIX, check, log);
  }
  if (runs("emulated"))
    await withPlugins(
      "the emulated DigitalOcean's whole up of dev (boot, cloud-init, Docker over SSH, HTTPS, " +
        "the node's data and ports, resize, replacement, destroy)",
      ["digitalocean", "docker", "random", "command", "tls"],
      async () => {
        readyDroplets(engine);
        await emulatedChecks(pulumi, engine, project, check, gateCheck);
      },
    );
  if (runs("emulated-backup"))
    await withPlugins(
      "the emulated DigitalOcean's data backups (the prod stack's bucket, keys and backup " +
        "container, restores onto a replaced droplet and onto a new stack)",
      ["digitalocean", "docker", "random", "command", "tls"],
      async () => {
        readyDroplets(engine);
        await emulatedBackupChecks(pulumi, engine, project, check, gateCheck, log);
      },
    );
  if (runs("emulated-cluster"))
    await withPlugins(
      "the emulated DigitalOcean's cluster checks (three droplets, the swarm, placement, the " +
        "routing mesh, Swarm's ports, destroy)",
      ["digitalocean", "docker", "random", "command", "tls"],
      async () => {
        readyDroplets(engine);
        await emulatedClusterChecks(pulumi, engine, project, check, gateCheck, notRunHere);
      },
    );
}

/** A check whose failure stops the checks after it. */
const gateCheck = (name: string, fn: () => unknown) => check(name, fn, true);

/** The stand-in images and the droplet image, made where missing. */
function readyDroplets(engine: DockerEngine): void {
  const why = standinsMissing() ?? dropletImageMissing(engine);
  if (why !== undefined) throw new Error(`the emulated droplets cannot run: ${why}`);
  ensureStandins(engine, log);
  ensureDropletImage(engine, log);
}

/** The engine itself: config validation, the program loaded by ts-node, errors as users see them. */
async function engineChecks(pulumi: Pulumi, project: string): Promise<void> {
  const stopsAtProvider = (r: { stdout: string; stderr: string }, provider: string) => {
    const all = r.stdout + r.stderr;
    // Either the provider's plugin is missing (it cannot be built here) or, with it, its API.
    const plugin = new RegExp(`no resource plugin 'pulumi-resource-${provider}' found`);
    if (!plugin.test(all) && !(provider === "digitalocean" && /127\.0\.0\.1:9/.test(all)))
      throw new Error(`preview stopped before the first ${provider} call:\n${tail(all)}`);
    if (/\n\s+at .+:\d+:\d+\)?\n/.test(all)) throw new Error(`a stack trace:\n${tail(all)}`);
  };
  for (const shipped of ["dev", "prod", "cluster"]) {
    await check(
      `the engine accepts Pulumi.${shipped}.yaml; preview runs the program to its first DigitalOcean call`,
      () => {
        pulumi.ok(["stack", "init", shipped], project);
        const r = pulumi.run(["preview", "--stack", shipped], project);
        if (r.status === 0) throw new Error("preview succeeded without DigitalOcean");
        stopsAtProvider(r, "digitalocean");
      },
    );
  }
  await check(
    "the engine accepts Pulumi.local.yaml; preview runs the program to its first Docker resource",
    () => {
      pulumi.ok(["stack", "init", "local"], project);
      const r = pulumi.run(["preview", "--stack", "local"], project);
      if (r.status !== 0) stopsAtProvider(r, "docker");
      else if (!/docker:index:Container\s+stack-datascience-1\s+create/.test(r.stdout))
        throw new Error(`the preview plans no datascience container:\n${tail(r.stdout)}`);
    },
  );
  await check(
    "a bad config value stops preview with dropstack's message and no stack trace",
    () => {
      pulumi.initStack(
        "bad-config",
        { "dropstack:target": "local", "dropstack:volumeSize": "0" },
        project,
      );
      const r = pulumi.run(["preview", "--stack", "bad-config"], project);
      const all = r.stdout + r.stderr;
      const expected =
        'Invalid stack configuration:\n      - dropstack:volumeSize: "0" is not allowed; use a whole number of GiB from 1 to 16384';
      if (r.status === 0 || !all.includes(expected))
        throw new Error(`expected ${JSON.stringify(expected)}:\n${tail(all)}`);
      if (/\n\s+at .+:\d+:\d+\)?\n/.test(all)) throw new Error(`a stack trace:\n${tail(all)}`);
    },
  );
  await renamedKeyCheck(pulumi, project, check);
  await check("a Stackfile error stops preview at its file, line and column", () => {
    fs.writeFileSync(path.join(project, "broken.yml"), "web:\n  image: x\n  imgae: y\n");
    pulumi.initStack(
      "bad-stackfile",
      { "dropstack:target": "local", "dropstack:stackfile": "broken.yml" },
      project,
    );
    const r = pulumi.run(["preview", "--stack", "bad-stackfile"], project);
    const all = r.stdout + r.stderr;
    const expected = 'broken.yml:3:3: unknown key "imgae" in service "web"; did you mean "image"?';
    if (r.status === 0 || !all.includes(expected))
      throw new Error(`expected ${JSON.stringify(expected)}:\n${tail(all)}`);
  });
}

/** The compose export of the test Stackfile, run by docker-compose on the real engine. */
async function composeChecks(engine: DockerEngine, project: string): Promise<void> {
  const dir = path.join(project, "compose-run");
  const name = `${PREFIX}-compose`;
  const compose = (args: string[]) => {
    const r = spawnSync("docker-compose", ["--compatibility", "-p", name, ...args], {
      cwd: dir,
      env: { ...process.env, DOCKER_HOST: engine.host },
      encoding: "utf8",
    });
    if (r.status !== 0)
      throw new Error(`docker-compose ${args.join(" ")}:\n${tail(r.stdout + r.stderr)}`);
    return r.stdout;
  };
  await check(
    "the compose export of the test Stackfile runs under docker-compose on the real engine",
    async () => {
      const cli = spawnSync(
        process.execPath,
        [
          path.join(project, "bin", "dropstack.js"),
          "compose",
          path.join("test", "engine", "stack", "stack.yml"),
          "--output",
          path.join(dir, "docker-compose.yml"),
        ],
        { cwd: project, encoding: "utf8" },
      );
      if (cli.status !== 0) throw new Error(`dropstack compose: ${cli.stderr}`);
      // The .env the export wrote lists what to fill in.
      const env = fs.readFileSync(path.join(dir, ".env"), "utf8");
      if (!/^PASSWORD=$/m.test(env)) throw new Error(`.env does not ask for PASSWORD:\n${env}`);
      fs.writeFileSync(path.join(dir, ".env"), env.replace(/^PASSWORD=$/m, "PASSWORD=compose-pw"));
      try {
        compose(["up", "-d", "--build"]);
        const url = "http://localhost:18080/";
        await waitFor(url);
        expectEqual((await fetch(`${url}login?password=compose-pw`)).status, 200, "right password");
        expectEqual((await fetch(`${url}login?password=wrong`)).status, 403, "wrong password");
        const script =
          "import os, socket\n" +
          'for n in ["database", "db-1", "database-1", "worker-1", "worker-2"]: socket.gethostbyname(n)\n' +
          'print(os.environ["DATABASE_PORT_6000_TCP_ADDR"], os.environ["DATABASE_1_PORT_6000_TCP_ADDR"])';
        const out = compose(["exec", "-T", "web", "python3", "-c", script]).trim();
        expectEqual(out, "database database-1", "link variables in web");
        const mac = inspect(
          engine,
          `${name}_db_1`,
          "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
        );
        expectEqual(mac, "02:42:ac:11:00:99", "db's mac_address");
        const shared = inspect(engine, `${name}_shared_1`, "{{.State.Status}} {{.RestartCount}}");
        expectEqual(shared, "exited 0", "the data-only container: exited, never restarted");
      } finally {
        compose(["down", "--volumes", "--rmi", "local"]);
      }
    },
  );
}

async function waitFor(url: string, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** pulumi up and everything after it: needs the docker, random and command plugins. */
async function deployChecks(pulumi: Pulumi, engine: DockerEngine, project: string): Promise<void> {
  const stack = ["--stack", STACK];
  const up = () => pulumi.ok(["up", "--yes", "--skip-preview", ...stack], project);
  const output = (name: string, secret = false) =>
    pulumi
      .ok(["stack", "output", name, ...stack, ...(secret ? ["--show-secrets"] : [])], project)
      .trim();
  const containerId = (name: string) => inspect(engine, `${PREFIX}-${name}`, "{{.Id}}");
  const exec = (container: string, script: string) =>
    engine.docker(["exec", `${PREFIX}-${container}`, "python3", "-c", script]);
  const dbStarts = () =>
    exec("web-1", "import socket; print(socket.create_connection(('database', 6000)).recv(64))");

  // Images already there (the stand-ins): destroy must leave the engine with these and no more.
  const imagesBefore = imageIds(engine);
  await check(
    "pulumi up deploys the test Stackfile on the local target",
    () => {
      pulumi.initStack(
        STACK,
        {
          "dropstack:target": "local",
          "dropstack:stackfile": "test/engine/stack/stack.yml",
          "dropstack:readinessTimeoutMinutes": "2",
        },
        project,
      );
      up();
    },
    true,
  );

  let url = "";
  let password = "";
  await check(
    "the url output answers, the password output opens it, a wrong password does not",
    async () => {
      url = output("url");
      expectEqual(url, "http://localhost:18080/", "url");
      password = output("password", true);
      if (!/^[A-Za-z0-9]{24}$/.test(password)) throw new Error(`password output: ${password}`);
      expectEqual((await fetch(url)).status, 200, `GET ${url}`);
      const login = (p: string) => fetch(`${url}login?password=${encodeURIComponent(p)}`);
      expectEqual((await login(password)).status, 200, "login with the password output");
      expectEqual((await login(`${password}x`)).status, 403, "login with a wrong password");
    },
    true,
  );

  await check("link aliases and svc-N names resolve inside the containers", () => {
    const names = [
      "db",
      "db-1",
      "database",
      "database-1",
      "worker",
      "worker-1",
      "worker-2",
      "web-1",
    ];
    const script = `import socket\nfor n in ${JSON.stringify(names)}: socket.gethostbyname(n)\nprint("ok")`;
    expectEqual(exec("web-1", script).trim(), "ok", "name resolution in web-1");
    expectEqual(exec("worker-2", script).trim(), "ok", "name resolution in worker-2");
  });

  await check("Docker Cloud's link variables are set in the linking containers", () => {
    const env = (c: string) =>
      Object.fromEntries(
        (JSON.parse(inspect(engine, `${PREFIX}-${c}`, "{{json .Config.Env}}")) as string[]).map(
          (kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)],
        ),
      );
    const web = env("web-1");
    expectEqual(
      [web.DATABASE_PORT_6000_TCP_ADDR, web.DATABASE_PORT, web.DATABASE_ENV_DB_NAME],
      ["database", "tcp://database:6000", "standin"],
      "web-1's link variables for db:database",
    );
    expectEqual(
      env("worker-1").DB_1_PORT_6000_TCP_PORT,
      "6000",
      "worker-1's DB_1_PORT_6000_TCP_PORT",
    );
  });

  await check("the state holds the secrets only as ciphertext", () => {
    const state = pulumi.ok(["stack", "export", ...stack], project);
    if (state.includes(password))
      throw new Error("the generated password is in the state in clear");
    if (!/"ciphertext"/.test(state)) throw new Error("the state has no encrypted values at all");
  });

  await check("a second up changes nothing (pulumi preview --expect-no-changes)", () => {
    pulumi.ok(["preview", "--expect-no-changes", ...stack], project);
  });

  await check("editing one service's environment replaces that service's containers only", () => {
    const before = ["web-1", "db-1", "worker-1", "worker-2"].map(containerId);
    const file = path.join(project, "test", "engine", "stack", "stack.yml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("GREETING=hello", "GREETING=bye"));
    up();
    const after = ["web-1", "db-1", "worker-1", "worker-2"].map(containerId);
    expectEqual(
      before.map((id, i) => id === after[i]),
      [false, true, true, true],
      "kept [web-1, db-1, worker-1, worker-2]",
    );
  });

  await check(
    "editing a build context rebuilds the image; the volume outlives the container",
    () => {
      expectEqual(dbStarts().trim(), "b'starts=1\\n'", "db's starts before");
      const image = inspect(engine, `${PREFIX}-db-1`, "{{.Image}}");
      const server = path.join(project, "test", "engine", "stack", "db", "server.py");
      fs.appendFileSync(server, "# edited by the engine test\n");
      up();
      const rebuilt = inspect(engine, `${PREFIX}-db-1`, "{{.Image}}");
      if (rebuilt === image) throw new Error("db-1 still runs the image built before the edit");
      expectEqual(dbStarts().trim(), "b'starts=2\\n'", "db's starts after the replacement");
    },
  );

  await check(
    "an up killed half-way is recovered by the README's steps (cancel, refresh, then up)",
    async () => {
      const file = path.join(project, "test", "engine", "stack", "stack.yml");
      fs.writeFileSync(
        file,
        fs.readFileSync(file, "utf8").replace("GREETING=bye", "GREETING=again"),
      );
      await pulumi.killWhen(
        ["up", "--yes", "--skip-preview", ...stack],
        project,
        /creating|deleting/,
      );
      // As on a lost machine, nothing of that run goes on: the CLI's plugins run in process groups
      // of their own and outlive the kill of the CLI's (a pulumi-resource-command did).
      const survivors = await pulumi.killSurvivors();
      if (survivors.length > 0) log(`killed what outlived the up: ${survivors.join(", ")}`);
      // The README's steps, in order ("An interrupted deploy").
      pulumi.ok(["cancel", "--yes", ...stack], project);
      const refresh = pulumi.run(["refresh", "--yes", ...stack], project);
      if (refresh.status !== 0)
        pulumi.ok(["refresh", "--yes", "--clear-pending-creates", ...stack], project);
      up();
      expectEqual((await fetch(url)).status, 200, `GET ${url} after the recovery`);
      pulumi.ok(["preview", "--expect-no-changes", ...stack], project);
    },
  );

  await check(
    "destroy --run-program with retainDataOnDestroy keeps the data volumes only; up brings the data back",
    () => {
      // A plain destroy would use the options of the last up, which deleted the volume: the
      // README says to destroy with --run-program after changing the setting.
      pulumi.ok(["config", "set", "dropstack:retainDataOnDestroy", "true", ...stack], project);
      pulumi.ok(["destroy", "--yes", "--run-program", ...stack], project);
      expectEqual(
        leftovers(engine, imagesBefore),
        {
          containers: [],
          networks: [],
          // db's named volume, and the anonymous one of the data-only container, whose data
          // web reaches through volumes_from: on a node, both live on the data volume.
          volumes: [`${PREFIX}-db-data`, `${PREFIX}-shared-anonymous_shared`],
          images: [],
        },
        "left after destroy",
      );
      up();
      expectEqual(dbStarts().trim(), "b'starts=3\\n'", "db's starts after coming back");
    },
  );

  await check("destroy leaves no container, network, volume or image of the stack", () => {
    pulumi.ok(["config", "set", "dropstack:retainDataOnDestroy", "false", ...stack], project);
    pulumi.ok(["destroy", "--yes", "--run-program", ...stack], project);
    expectEqual(
      leftovers(engine, imagesBefore),
      { containers: [], networks: [], volumes: [], images: [] },
      "left after destroy",
    );
  });
}

/** The Docker engine's image IDs, sorted. */
function imageIds(engine: DockerEngine): string[] {
  return [
    ...new Set(engine.docker(["images", "-aq", "--no-trunc"]).split("\n").filter(Boolean)),
  ].sort();
}

/** What of the stack is on the Docker engine: containers, networks, volumes, and images it added. */
function leftovers(engine: DockerEngine, imagesBefore: string[]) {
  const names = (args: string[]) => engine.docker(args).split("\n").filter(Boolean).sort();
  return {
    containers: names(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=^${PREFIX}-`]),
    networks: names(["network", "ls", "--format", "{{.Name}}", "--filter", `name=^${PREFIX}$`]),
    volumes: names(["volume", "ls", "--format", "{{.Name}}", "--filter", `name=^${PREFIX}-`]),
    images: imageIds(engine).filter((id) => !imagesBefore.includes(id)),
  };
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`test:engine: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
