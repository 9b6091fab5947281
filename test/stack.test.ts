import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { healthcheckLabel } from "../components/service";
import { FAKE_IP, ProgramRun, ROOT, runProgram } from "./harness";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const DROPLET = "digitalocean:index/droplet:Droplet";
const COMMAND = "command:local:Command";

/** An env list as a map. */
function envOf(run: ProgramRun, container: string): Record<string, string> {
  const envs: string[] = run.find(CONTAINER, container).inputs.envs;
  return Object.fromEntries(
    envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

/** The value a RandomPassword resource produced. */
function generated(run: ProgramRun, name: string): string {
  return run.find(PASSWORD, name).state!.result;
}

describe("the default datascience stack", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ stack: "dev" });
  });

  test("gives the notebook the generated password and a MONGO_URL with Mongo's own password", () => {
    const notebook = envOf(run, "stack-datascience-1");
    const mongo = envOf(run, "stack-mongo-1");
    const password = generated(run, "stack-password");
    const mongoPassword = generated(run, "stack-mongo-password");
    expect(notebook.PASSWORD).toBe(password);
    expect(mongo.MONGO_INITDB_ROOT_PASSWORD).toBe(mongoPassword);
    expect(notebook.MONGO_URL).toBe(
      `mongodb://root:${mongoPassword}@mongo:27017/notebooks?authSource=admin`,
    );
    expect(run.find(PASSWORD, "stack-password").inputs).toMatchObject({
      length: 24,
      special: false,
    });
  });

  test("sends container environments to Docker as secrets", () => {
    for (const c of ["stack-datascience-1", "stack-mongo-1"]) {
      expect(run.find(CONTAINER, c).secretInputs).toContain("envs");
    }
  });

  test("publishes nothing of the notebook or Mongo: the HTTPS proxy takes 80 and 443", () => {
    expect(run.find(CONTAINER, "stack-datascience-1").inputs.ports).toEqual([]);
    expect(run.find(CONTAINER, "stack-mongo-1").inputs.ports).toEqual([]);
    expect(run.find(CONTAINER, "proxy-container").inputs.ports).toEqual([
      { internal: 80, external: 80, protocol: "tcp" },
      { internal: 443, external: 443, protocol: "tcp" },
    ]);
  });

  test("exports an https URL at the droplet's address and the password as a secret", () => {
    expect(run.outputs.url).toBe(`https://${FAKE_IP}/`);
    expect(run.outputs.password).toBe(generated(run, "stack-password"));
    expect(run.secrets).toContain("password");
    expect(run.outputs.services).toEqual({
      mongo: { containers: ["dropstack-dev-mongo-1"], endpoints: [] },
      datascience: { containers: ["dropstack-dev-datascience-1"], endpoints: [] },
    });
  });

  test("shows no generated secret in any plain output or in user_data", () => {
    const secrets = [generated(run, "stack-password"), generated(run, "stack-mongo-password")];
    const plain = JSON.stringify(Object.entries(run.outputs).filter(([k]) => !run.secrets.has(k)));
    const userData = run.find(DROPLET).inputs.userData;
    for (const secret of secrets) {
      expect(plain).not.toContain(secret);
      expect(userData).not.toContain(secret);
    }
  });

  test("builds the notebook image on the node from images/datascience and pulls a pinned Mongo", () => {
    const notebook = run.find(IMAGE, "stack-image-datascience");
    // The Docker provider resolves a relative context against the folder the program ran in.
    expect(fs.realpathSync(path.resolve(run.cwd, notebook.inputs.build.context))).toBe(
      fs.realpathSync(path.join(ROOT, "images", "datascience")),
    );
    expect(notebook.inputs.name).toMatch(/^dropstack\/datascience:[0-9a-f]{12}$/);
    expect(notebook.inputs.triggers.context).toMatch(/^[0-9a-f]{64}$/);
    expect(run.find(IMAGE, "stack-image-mongo-8-0").inputs).toMatchObject({
      name: "mongo:8.0",
      keepLocally: true,
    });
    expect(run.find(CONTAINER, "stack-datascience-1").inputs.image).toBe(notebook.state!.imageId);
    // The provider removes no build on a node: it removes by name, through a provider that
    // reaches a replaced droplet's successor, where that name is the new build's.
    expect(notebook.inputs.keepLocally).toBe(true);
    expect(notebook.inputs.forceRemove).toBeUndefined();
  });

  test("removes the notebook's earlier builds from the node once its container runs the new one", () => {
    const notebook = run.find(IMAGE, "stack-image-datascience");
    const [repository, tag] = notebook.inputs.name.split(":");
    const prune = run.find(COMMAND, "stack-image-datascience-prune");
    expect(prune.inputs.create).toMatch(/^sh \S*scripts\/prune-builds\.sh /);
    expect(prune.inputs.create.split(" ").slice(2)).toEqual([repository, tag]);
    expect(prune.inputs.environment.DROPSTACK_HOST).toBe(FAKE_IP);
    expect(prune.dependsOn).toContain("stack-datascience-1");
    // A pulled image is another's too: only builds are pruned.
    const prunes = run.all(COMMAND).filter((c) => c.name.endsWith("-prune"));
    expect(prunes.map((c) => c.name)).toEqual(["stack-image-datascience-prune"]);
  });

  test("keeps notebooks and Mongo data on the node's data volume", () => {
    expect(run.find(CONTAINER, "stack-datascience-1").inputs.volumes).toEqual([
      {
        hostPath: "/mnt/data/dev/datascience/notebooks",
        containerPath: "/home/jovyan/work",
        readOnly: false,
      },
    ]);
    expect(run.find(CONTAINER, "stack-mongo-1").inputs.volumes).toEqual([
      { hostPath: "/mnt/data/dev/mongo/db", containerPath: "/data/db", readOnly: false },
    ]);
  });

  test("gives Mongo a healthcheck", () => {
    expect(run.find(CONTAINER, "stack-mongo-1").inputs.healthcheck).toMatchObject({
      tests: ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"],
      retries: 5,
    });
  });

  test("starts the notebook after Mongo, on the stack's network", () => {
    const notebook = run.find(CONTAINER, "stack-datascience-1");
    expect(notebook.dependsOn).toContain("stack-mongo-1");
    expect(run.find(CONTAINER, "stack-mongo-1").dependsOn).not.toContain("stack-datascience-1");
    expect(notebook.inputs.networksAdvanced).toEqual([
      { name: "dropstack-dev", aliases: ["datascience", "datascience-1"] },
    ]);
    expect(run.find(CONTAINER, "stack-mongo-1").inputs.networksAdvanced[0].aliases).toEqual([
      "mongo",
      "mongo-1",
    ]);
  });

  test("talks to the node's Docker over SSH with the pinned host key, once the node is ready", () => {
    const provider = run.find("pulumi:providers:docker", "node-docker");
    expect(provider.inputs.host).toBe(`ssh://root@${FAKE_IP}`);
    expect(JSON.parse(provider.inputs.sshOpts)).toEqual(
      expect.arrayContaining(["StrictHostKeyChecking=yes"]),
    );
    expect(provider.dependsOn).toContain("node-ready");
    for (const r of run.resources.filter((r) => r.type.startsWith("docker:"))) {
      expect({ name: r.name, provider: r.provider }).toEqual({
        name: r.name,
        provider: "node-docker",
      });
    }
  });

  test("replaces everything it runs on the node when the droplet is replaced", () => {
    // The Docker provider's host changing replaces none of its resources by itself.
    const onNode = run.resources.filter((r) => r.type.startsWith("docker:index/"));
    expect(onNode.map((r) => r.name).sort()).toEqual([
      "proxy-container",
      "proxy-image",
      "stack-datascience-1",
      "stack-image-datascience",
      "stack-image-mongo-8-0",
      "stack-mongo-1",
      "stack-network",
    ]);
    for (const resource of onNode) expect(resource.replacementTrigger).toBe("1001");
  });

  test("gives containers a clean stop, keeps image volumes, and says what the provider gets wrong", () => {
    for (const name of ["stack-datascience-1", "stack-mongo-1", "proxy-container"]) {
      const container = run.find(CONTAINER, name);
      // As docker stop: the provider would otherwise kill at once on every replacement.
      expect(container.inputs.destroyGraceSeconds).toBe(10);
      expect(container.deleteBeforeReplace).toBe(true);
    }
    const mongo = run.find(CONTAINER, "stack-mongo-1");
    expect(mongo.inputs.removeVolumes).toBe(false);
    // The provider cannot change a healthcheck in place: a label (forcing a new container, never
    // read back) names it, so a changed healthcheck replaces the container.
    const label = (c: typeof mongo) =>
      c.inputs.labels.find((l: { label: string }) => l.label === "dropstack.healthcheck")?.value;
    expect(label(mongo)).toMatch(/^[0-9a-f]{12}$/);
    expect(mongo.replaceOnChanges).toEqual([]);
    const check = { test: ["CMD", "true"], interval: "10s" };
    expect(healthcheckLabel(check)).toEqual(healthcheckLabel({ ...check }));
    expect(healthcheckLabel(check).value).not.toBe(
      healthcheckLabel({ ...check, interval: "20s" }).value,
    );
    expect(run.find(CONTAINER, "stack-datascience-1").inputs.labels).toBeUndefined();
    expect(mongo.inputs.mustRun).toBe(true);
  });

  test("ends `up` only when the URL answers over HTTPS, after every container", () => {
    const ready = run.find("command:local:Command", "app-ready");
    expect(ready.inputs.create).toBe(`node scripts/wait-http.js https://${FAKE_IP}/ 600`);
    expect(ready.dependsOn).toEqual(
      expect.arrayContaining(["stack-datascience-1", "stack-mongo-1", "proxy-container"]),
    );
  });
});

describe("changing the services", () => {
  test("cannot change user_data, so the droplet is never replaced for it", async () => {
    const a = await runProgram({ stack: "dev" });
    const b = await runProgram({
      stack: "dev",
      config: {
        "dropstack:stackfile": path.join(ROOT, "test", "fixtures", "multi.yml"),
        "dropstack:stackVars": JSON.stringify({ DB_PASSWORD: "x" }),
      },
    });
    expect(b.all(CONTAINER).length).not.toBe(a.all(CONTAINER).length);
    expect(b.find(DROPLET).inputs.userData).toBe(a.find(DROPLET).inputs.userData);
  });
});

describe("the seed Stackfile", () => {
  const SEED = path.join(ROOT, "test", "fixtures", "seed-stackfile.yml");

  test("deploys with USERNAME from stackVars and a generated PASSWORD", async () => {
    const run = await runProgram({
      config: {
        "dropstack:stackfile": SEED,
        "dropstack:stackVars": JSON.stringify({ USERNAME: "alice" }),
      },
    });
    expect(run.find(IMAGE, "stack-image-alice-datascience-latest").inputs.name).toBe(
      "alice/datascience:latest",
    );
    expect(envOf(run, "stack-datascience-1").PASSWORD).toBe(generated(run, "stack-password"));
    // Port 80 is the proxy's; it forwards to the notebook's 8888.
    expect(run.find(CONTAINER, "stack-datascience-1").inputs.ports).toEqual([]);
    expect(run.find(CONTAINER, "proxy-container").inputs.uploads[0].content).toContain(
      "reverse_proxy datascience-1:8888",
    );
    expect(run.find(CONTAINER, "stack-mongo-1").inputs.ports).toEqual([]);
    expect(envOf(run, "stack-datascience-1").MONGO_PORT_27017_TCP_ADDR).toBe("mongo");
    expect(run.warnings).toEqual([
      expect.stringMatching(
        /seed-stackfile\.yml:4:10: "#USERNAME#" is a fill-in marker from the original guide/,
      ),
      expect.stringMatching(
        /seed-stackfile\.yml:6:7: "#PASSWORD#" is a fill-in marker from the original guide/,
      ),
    ]);
  });

  test("fails before creating anything when USERNAME is missing", async () => {
    const failure = runProgram({
      config: { "dropstack:stackfile": SEED },
    });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      "1 error in " +
        SEED +
        ":\n  " +
        SEED +
        ":4:10: no value for ${USERNAME}; set it with `npx pulumi config set --path stackVars.USERNAME <value>` " +
        "(add --secret for a secret). Unset variables ending in PASSWORD, SECRET, TOKEN or KEY are generated",
    );
  });
});

describe("a stack of several services", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({
      stack: "dev",
      config: { "dropstack:stackfile": path.join(ROOT, "test", "fixtures", "multi.yml") },
    });
  });

  test("runs target_num_containers containers, one after another when sequential", () => {
    expect(
      run
        .all(CONTAINER)
        .map((c) => c.inputs.name)
        .sort(),
    ).toEqual([
      "dropstack-dev-backup-1",
      "dropstack-dev-cache-1",
      "dropstack-dev-db-1",
      "dropstack-dev-web-1",
      "dropstack-dev-web-2",
    ]);
    expect(run.find(CONTAINER, "stack-web-2").dependsOn).toContain("stack-web-1");
  });

  test("answers to the service name, the container name and every link alias", () => {
    expect(run.find(CONTAINER, "stack-db-1").inputs.networksAdvanced[0].aliases).toEqual([
      "db",
      "db-1",
      "database",
      "database-1",
    ]);
    expect(run.find(CONTAINER, "stack-web-2").inputs.networksAdvanced[0].aliases).toEqual([
      "web",
      "web-2",
    ]);
  });

  test("gives linked containers Docker Cloud's link variables, addressed by alias", () => {
    const env = envOf(run, "stack-web-1");
    expect(env).toMatchObject({
      DATABASE_PORT: "tcp://database:3306",
      DATABASE_PORT_3306_TCP_ADDR: "database",
      DATABASE_1_PORT_3306_TCP_ADDR: "database-1",
      DATABASE_ENV_MYSQL_DATABASE: "site",
      CACHE_PORT_6379_TCP: "tcp://cache:6379",
      SITE: "example",
    });
    expect(env.DATABASE_ENV_MYSQL_ROOT_PASSWORD).toBe(generated(run, "stack-db-password"));
  });

  test("publishes ports but never exposed ones", () => {
    expect(run.find(CONTAINER, "stack-web-1").inputs.ports).toEqual([
      { internal: 8080, protocol: "tcp" },
      { internal: 443, protocol: "tcp" },
    ]);
    expect(run.find(CONTAINER, "stack-db-1").inputs.ports).toEqual([]);
    expect(run.find(CONTAINER, "stack-cache-1").inputs.ports).toEqual([]);
  });

  test("puts anonymous and relative volumes on the data volume and keeps absolute paths", () => {
    expect(run.find(CONTAINER, "stack-db-1").inputs.volumes).toEqual([
      {
        hostPath: "/mnt/data/dev/db/_anonymous/var/lib/mysql",
        containerPath: "/var/lib/mysql",
        readOnly: false,
      },
      { hostPath: "/mnt/data/dev/db/conf", containerPath: "/etc/mysql/conf.d", readOnly: true },
      { hostPath: "/var/log/site", containerPath: "/logs", readOnly: false },
    ]);
    expect(run.find(CONTAINER, "stack-backup-1").inputs.volumes).toEqual([
      // Docker's own name:ro: the provider ignores readOnly for fromContainer.
      { fromContainer: "dropstack-dev-db-1:ro" },
    ]);
  });

  test("creates containers after those they link to or take volumes from", () => {
    expect(run.find(CONTAINER, "stack-web-1").dependsOn).toEqual(
      expect.arrayContaining(["stack-db-1", "stack-cache-1"]),
    );
    expect(run.find(CONTAINER, "stack-backup-1").dependsOn).toContain("stack-db-1");
  });

  test("maps restart policies and memory limits", () => {
    expect(run.find(CONTAINER, "stack-cache-1").inputs).toMatchObject({
      restart: "always",
      memory: 128,
    });
    expect(run.find(CONTAINER, "stack-backup-1").inputs).toMatchObject({
      restart: "on-failure",
      command: ["sh", "-c", "sleep infinity"],
    });
    expect(run.find(CONTAINER, "stack-web-1").inputs.restart).toBe("unless-stopped");
  });

  test("pulls each distinct image once", () => {
    expect(
      run
        .all(IMAGE)
        .map((i) => i.inputs.name)
        .sort(),
    ).toEqual(["alpine:3.20", "mysql:8.4", "nginx:1.27", "redis:7"]);
  });

  test("exports no URL when no service publishes a fixed TCP port", () => {
    expect(run.outputs.url).toBeUndefined();
    expect(run.all("command:local:Command").map((c) => c.name)).not.toContain("app-ready");
  });
});

describe("a Stackfile using every key", () => {
  test("deploys under the mock engine with every key mapped", async () => {
    const run = await runProgram({
      config: {
        "dropstack:stackfile": path.join(ROOT, "test", "fixtures", "every-key.yml"),
        "dropstack:stackVars": JSON.stringify({ GREETING: "hi" }),
      },
    });
    const app = run.find(CONTAINER, "stack-app-1").inputs;
    expect(app).toMatchObject({
      command: ["python", "-m", "http.server", "8000"],
      entrypoints: ["/usr/bin/env"],
      ports: [
        { internal: 8000, external: 8000, protocol: "tcp" },
        { internal: 5353, protocol: "udp" },
      ],
      restart: "on-failure",
      capabilities: { adds: ["NET_ADMIN"], drops: ["MKNOD"] },
      devices: [{ hostPath: "/dev/null", containerPath: "/dev/nothing", permissions: "r" }],
      pidMode: "host",
      dns: ["1.1.1.1"],
      dnsSearches: ["example.com"],
      hosts: [{ host: "metadata", ip: "127.0.0.1" }],
      labels: [
        { label: "com.example.team", value: "data" },
        { label: "dropstack.healthcheck", value: expect.stringMatching(/^[0-9a-f]{12}$/) },
      ],
      securityOpts: ["no-new-privileges"],
      cgroupParent: "dropstack",
      workingDir: "/srv",
      user: "1000",
      hostname: "app",
      domainname: "example.com",
      cpuShares: 512,
      cpuSet: "0",
      memory: 512,
      memorySwap: 1024,
      readOnly: true,
      stdinOpen: true,
      tty: true,
      privileged: false,
      networksAdvanced: [expect.objectContaining({ macAddress: "02:42:ac:11:00:02" })],
      healthcheck: {
        tests: ["CMD", "true"],
        interval: "30s",
        timeout: "5s",
        startPeriod: "10s",
        retries: 3,
      },
    });
    expect(envOf(run, "stack-app-1")).toMatchObject({ GREETING: "hi", LITERAL: "costs $5" });
    expect(envOf(run, "stack-app-1").API_TOKEN).toBe(generated(run, "stack-api-token"));
    const build = run.find(IMAGE, "stack-image-app").inputs.build;
    expect(build).toMatchObject({ buildArgs: { VERSION: "1.0" }, useLegacyBuilder: true });
    // The classic builder reads the Dockerfile relative to where Pulumi runs, not the context.
    expect(build.dockerfile).toBe(path.join(build.context, "Dockerfile"));
    expect(path.resolve(run.cwd, build.dockerfile)).toBe(
      path.join(ROOT, "test", "fixtures", "app", "Dockerfile"),
    );
    expect(run.find(CONTAINER, "stack-store-1").inputs.restart).toBe("always");
    // The node's firewall keeps 8000 closed, so there is no public URL to wait for.
    expect(run.outputs.url).toBeUndefined();
    expect(run.warnings).toContain(
      'service "app" publishes 8000:8000/tcp, but the node\'s cloud firewall opens only 80 and 443 to the world: ' +
        "reach it through an SSH tunnel (sshCommand plus -L <local port>:localhost:<port>), or publish it on 80",
    );
  });
});

describe("bad input", () => {
  test("a missing Stackfile fails with the config key and creates nothing", async () => {
    const failure = runProgram({ config: { "dropstack:stackfile": "stacks/nope.yml" } });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'dropstack:stackfile: "stacks/nope.yml" does not exist (paths are relative to the project folder)',
    );
  });

  test("a build that cannot run fails before any resource exists", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-build-"));
    fs.mkdirSync(path.join(dir, "app"));
    fs.writeFileSync(path.join(dir, "stack.yml"), "app:\n  build: ./app\nweb:\n  build: ./web\n");
    const failure = runProgram({ config: { "dropstack:stackfile": path.join(dir, "stack.yml") } });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    const shown = (file: string) => path.relative(ROOT, path.join(dir, file));
    await expect(failure).rejects.toThrow(
      "The Stackfile's builds cannot run:\n" +
        `  - ${path.join(dir, "stack.yml")}:2:3: service "app": there is no Dockerfile at ${shown("app/Dockerfile")} (build.dockerfile is relative to the context)\n` +
        `  - ${path.join(dir, "stack.yml")}:4:3: service "web": build context ${shown("web")} is not a folder (build paths are relative to the Stackfile)`,
    );
  });

  test("DOCKER_CONTEXT set for a droplet fails before anything exists: the provider would deploy there", async () => {
    process.env.DOCKER_CONTEXT = "desktop-linux";
    try {
      const failure = runProgram({});
      await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
      await expect(failure).rejects.toThrow(
        "DOCKER_CONTEXT is set (desktop-linux), and the Docker provider would deploy to that " +
          "context instead of the droplet. Unset it for dropstack: `env -u DOCKER_CONTEXT npx pulumi up`",
      );
      // On the local target it is the user's Docker to choose.
      await expect(
        runProgram({ stack: "local", config: { "dropstack:target": "local" } }),
      ).resolves.toBeDefined();
    } finally {
      delete process.env.DOCKER_CONTEXT;
    }
  });

  test("bad config fails before any resource exists", async () => {
    const failure = runProgram({ config: { "dropstack:region": "Mars" } });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'Invalid stack configuration:\n  - dropstack:region: "Mars" is not a DigitalOcean region slug; use one like nyc3, sfo3, ams3 or fra1',
    );
  });
});

describe("the local target", () => {
  test("removes a replaced build from this machine's Docker, and ties nothing to a droplet", async () => {
    const run = await runProgram({ stack: "local", config: { "dropstack:target": "local" } });
    // The real engine's destroy left each build behind (the notebook's: gigabytes every time).
    expect(run.find(IMAGE, "stack-image-datascience").inputs).toMatchObject({
      keepLocally: false,
      forceRemove: true,
    });
    // A pulled image stays: another project may run it.
    expect(run.find(IMAGE, "stack-image-mongo-8-0").inputs.keepLocally).toBe(true);
    expect(run.all(COMMAND).filter((c) => c.name.endsWith("-prune"))).toEqual([]);
    for (const r of run.resources.filter((r) => r.type.startsWith("docker:index/")))
      expect(r.replacementTrigger).toBeUndefined();
  });
});

describe("containers the provider would otherwise get wrong", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-containers-"));
    fs.writeFileSync(
      path.join(dir, "stack.yml"),
      [
        "web:\n  image: nginx:1.27\n  restart: always\n  mem_limit: 300m",
        "worker:\n  image: busybox:1.36\n  command: sleep 60\n  restart: unless-stopped",
        "job:\n  image: busybox:1.36\n  command: sh -c 'echo done'\n  restart: on-failure",
        "once:\n  image: busybox:1.36\n  command: sh -c 'echo once'\n  restart: 'no'",
      ].join("\n") + "\n",
    );
    run = await runProgram({ config: { "dropstack:stackfile": path.join(dir, "stack.yml") } });
  });

  test("keeps running only what its policy keeps running: a finished job is not started again on every up", () => {
    const mustRun = Object.fromEntries(
      ["web", "worker", "job", "once"].map((s) => [
        s,
        run.find(CONTAINER, `stack-${s}-1`).inputs.mustRun,
      ]),
    );
    expect(mustRun).toEqual({ web: true, worker: true, job: false, once: false });
  });

  test("sends no ports for net: host, which Docker drops and the provider would then replace every up", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-host-net-"));
    fs.writeFileSync(
      path.join(dir, "stack.yml"),
      'exporter:\n  image: prom/node-exporter:v1.8\n  net: host\n  ports: ["9100:9100"]\n',
    );
    const host = await runProgram({
      config: {
        "dropstack:stackfile": path.join(dir, "stack.yml"),
        "dropstack:tls": "off",
      },
    });
    const exporter = host.find(CONTAINER, "stack-exporter-1");
    expect(exporter.inputs).toMatchObject({ networkMode: "host" });
    expect(exporter.inputs.ports).toBeUndefined();
    // What the Stackfile says it publishes is still reported.
    expect(host.outputs.services.exporter.endpoints).toEqual(["9100:9100/tcp"]);
  });

  test("says the swap limit with the memory limit, as Docker would set it (twice the memory)", () => {
    // Left out, Docker sets it and the provider shows a change on every up.
    expect(run.find(CONTAINER, "stack-web-1").inputs).toMatchObject({
      memory: 300,
      memorySwap: 600,
    });
    expect(run.find(CONTAINER, "stack-worker-1").inputs.memorySwap).toBeUndefined();
  });
});

describe("secrets outside the environment", () => {
  test("reach command, entrypoint, healthcheck, labels and build args as the secret's value, kept secret", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-secrets-"));
    fs.mkdirSync(path.join(dir, "app"));
    fs.writeFileSync(path.join(dir, "app", "Dockerfile"), "FROM busybox:1.36\n");
    fs.writeFileSync(
      path.join(dir, "stack.yml"),
      "cache:\n  image: redis:7\n  command: redis-server --requirepass ${REDIS_PASSWORD}\n" +
        "  entrypoint: [docker-entrypoint.sh]\n" +
        "  healthcheck:\n    test: redis-cli -a ${REDIS_PASSWORD} ping\n" +
        "  labels: {auth: 'token ${API_TOKEN}'}\n" +
        "app:\n  build:\n    context: app\n    args: {NPM_TOKEN: '${API_TOKEN}'}\n" +
        "  entrypoint: [env, 'TOKEN=${API_TOKEN}']\n",
    );
    const run = await runProgram({
      config: { "dropstack:stackfile": path.join(dir, "stack.yml") },
    });
    const password = generated(run, "stack-redis-password");
    const token = generated(run, "stack-api-token");
    const cache = run.find(CONTAINER, "stack-cache-1");
    expect(cache.inputs.command).toEqual(["redis-server", "--requirepass", password]);
    expect(cache.inputs.healthcheck.tests).toEqual(["CMD-SHELL", `redis-cli -a ${password} ping`]);
    expect(cache.inputs.labels[0]).toEqual({ label: "auth", value: `token ${token}` });
    // The healthcheck's label hashes the Stackfile's text, never the secret's value.
    expect(cache.inputs.labels[1].label).toBe("dropstack.healthcheck");
    expect(run.find(CONTAINER, "stack-app-1").inputs.entrypoints).toEqual([
      "env",
      `TOKEN=${token}`,
    ]);
    expect(run.find(IMAGE, "stack-image-app").inputs.build.buildArgs).toEqual({ NPM_TOKEN: token });
    // Secret in the state, as the environment's are; never the placeholder.
    for (const input of ["command", "healthcheck", "labels"])
      expect([...cache.secretInputs].some((p) => p.startsWith(input))).toBe(true);
    expect(JSON.stringify(run.resources.map((r) => r.inputs))).not.toContain("@@dropstack-secret");
  });
});

describe("the Stackfile the real-engine test deploys", () => {
  test("deploys under the mock engine: a one-shot data container is left to stop", async () => {
    const run = await runProgram({
      config: {
        "dropstack:target": "local",
        "dropstack:stackfile": path.join(ROOT, "test", "engine", "stack", "stack.yml"),
      },
    });
    expect(run.find(CONTAINER, "stack-shared-1").inputs).toMatchObject({
      restart: "no",
      mustRun: false,
    });
    expect(run.find(CONTAINER, "stack-web-1").inputs).toMatchObject({
      restart: "always",
      mustRun: true,
      volumes: [{ fromContainer: "dropstack-test-shared-1" }],
    });
    expect(
      run
        .all(CONTAINER)
        .map((c) => c.name)
        .sort(),
    ).toEqual(["stack-db-1", "stack-shared-1", "stack-web-1", "stack-worker-1", "stack-worker-2"]);
    expect(run.outputs.url).toBe("http://localhost:18080/");
  });
});

describe("errors for bad input", () => {
  // Pulumi prints a RunError's message only, yet its runtime renders the error through
  // util.inspect; with a stack under ts-node that took 16.5 s on the real engine.
  test.each([
    ["a config value", { "dropstack:volumeSize": "0" }],
    [
      "a Stackfile",
      { "dropstack:stackfile": path.join(ROOT, "test", "fixtures", "seed-stackfile.yml") },
    ],
  ])("in %s are RunErrors without a stack for the runtime to render", async (_, config) => {
    const error = await runProgram({ config }).then(
      () => undefined,
      (e: Error) => e,
    );
    const { RunError } = await import("@pulumi/pulumi");
    expect({ runError: RunError.isInstance(error), stack: error?.stack }).toEqual({
      runError: true,
      stack: undefined,
    });
  });
});
