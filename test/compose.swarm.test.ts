// The export for `docker stack deploy` (`dropstack compose --swarm`, or a stack with
// dropstack:nodes above 1). docker-compose is not its validator: it reads the file for
// `docker compose up`, where deploy: is mostly ignored and build:, restart: and depends_on are
// fine. What reads this file is the docker CLI's own compose loader: `docker stack config` runs
// it without an engine where the CLI has it (20.10's has not); the engine check
// (test/engine/swarm-checks.ts) deploys the file on a real Swarm.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { clusterNodeTags } from "../config";
import { exportCompose, parseStackfile, SwarmExportError, swarmProblems } from "../stackfile";
import type { ParseOptions, StackSpec } from "../stackfile";
import { cli } from "./cli-run";
import { ROOT } from "./harness";
import { run, testWithTool } from "./tools";

const CLUSTER: ParseOptions = { cluster: true, nodeTags: ["gpu", "fast"] };

function spec(text: string, options: ParseOptions = CLUSTER): StackSpec {
  return parseStackfile(text, "stack.yml", options).spec;
}

/** The swarm export of `text`, parsed back. */
function swarmExport(text: string): any {
  // Built images get the program's tag (components/stack.ts); a stand-in one here.
  return YAML.parse(
    exportCompose(spec(text), { swarm: true, builtImage: (s) => `${s.image ?? s.name}-built` })
      .compose,
  );
}

/** A file in a fresh temporary folder. */
function tempFile(name: string, text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-swarm-")), name);
  fs.writeFileSync(file, text);
  return file;
}

describe("each service's deploy: comes from swarmService", () => {
  const services = swarmExport(
    "web:\n  image: web:1\n  target_num_containers: 3\n  sequential_deployment: true\n  restart: always\n" +
      'agent:\n  image: agent:1\n  deployment_strategy: every_node\n  restart: "no"\n' +
      "gpu:\n  image: gpu:1\n  tags: [gpu, fast]\n  restart: on-failure\n" +
      "db:\n  image: postgres:16\n  volumes: [data:/var/lib/postgresql/data]\n" +
      "  restart: unless-stopped\n  mem_limit: 256m\n",
  ).services;

  test("target_num_containers: replicas; sequential_deployment: one task at a time", () => {
    expect(services.web.deploy).toEqual({
      mode: "replicated",
      replicas: 3,
      endpoint_mode: "dnsrr",
      update_config: { parallelism: 1 },
      restart_policy: { condition: "any" },
    });
  });

  test('every_node: global mode, one task per node; restart "no": condition none', () => {
    expect(services.agent.deploy).toEqual({
      mode: "global",
      endpoint_mode: "dnsrr",
      update_config: { parallelism: 0 },
      restart_policy: { condition: "none" },
    });
  });

  test("tags: one placement constraint each, on the node labels nodeTags sets", () => {
    expect(services.gpu.deploy).toEqual({
      mode: "replicated",
      replicas: 1,
      placement: {
        constraints: [
          "node.labels.dropstack.tag.gpu == true",
          "node.labels.dropstack.tag.fast == true",
        ],
      },
      endpoint_mode: "dnsrr",
      update_config: { parallelism: 0 },
      restart_policy: { condition: "on-failure" },
    });
  });

  test("a service with data runs on the data node; mem_limit is a resource limit in bytes", () => {
    expect(services.db.deploy).toEqual({
      mode: "replicated",
      replicas: 1,
      placement: { constraints: ["node.labels.dropstack.data == true"] },
      endpoint_mode: "dnsrr",
      update_config: { parallelism: 0 },
      restart_policy: { condition: "any" },
      resources: { limits: { memory: String(256 * 1024 * 1024) } },
    });
    expect(services.db.volumes).toEqual(["db-data:/var/lib/postgresql/data"]);
  });
});

test("every service is on one overlay network under its name, link aliases and svc-N", () => {
  const compose = exportCompose(
    spec(
      "web:\n  image: x\n  links: [db:database]\n  target_num_containers: 2\n" +
        "db:\n  image: y\n  target_num_containers: 2\n",
    ),
    { swarm: true },
  ).compose;
  const doc = YAML.parse(compose);
  expect(doc.services.db.networks).toEqual({
    default: { aliases: ["db", "database", "db-1", "db-2", "database-1", "database-2"] },
  });
  expect(doc.services.web.networks).toEqual({ default: { aliases: ["web", "web-1", "web-2"] } });
  expect(doc.networks).toEqual({ default: { driver: "overlay" } });
  // A string, as stack deploy requires: 20.10 reads a file without a version as 1.0, and refuses it.
  expect(compose).toContain('\nversion: "3.8"\nservices:\n');
});

test("leaves out what stack deploy ignores or rejects, keeps what it runs", () => {
  const web = swarmExport(
    "web:\n  image: app:1\n  build: ./app\n  links: [db]\n  restart: always\n  privileged: false\n" +
      '  expose: ["9000"]\n  ports: ["8080"]\n  mem_limit: 1g\n  environment: [PRICE=$$5]\n' +
      "  cap_add: [NET_ADMIN]\n  healthcheck:\n    test: [CMD, 'true']\n" +
      "db:\n  image: postgres:16\n",
  ).services.web;
  // Gone: build, restart (restart_policy says it), depends_on, expose, privileged and mem_limit
  // (a resource limit in deploy:), which stack deploy ignores or, for mem_limit, rejects.
  expect(Object.keys(web)).toEqual([
    "image",
    "environment",
    "ports",
    "healthcheck",
    "cap_add",
    "networks",
    "deploy",
  ]);
  // A built service runs the tag the program builds it with; the header says to build it.
  expect(web.image).toBe("app:1-built");
  expect(web.environment.PRICE).toBe("$$5");
  // It publishes a port: Swarm's routing mesh, so the default virtual IP (no endpoint_mode).
  expect(web.deploy.endpoint_mode).toBeUndefined();
});

describe("keys no Swarm service can honour", () => {
  const text =
    "web:\n  image: x\n  privileged: true\n  volumes_from: [data]\n  net: host\n" +
    "data:\n  image: y\n  cpu_shares: 512\n";

  test("make the export refuse, with swarmProblems' words for each", () => {
    const parsed = spec(text);
    const problems = parsed.services.flatMap(swarmProblems);
    expect(problems.map((p) => [p.service, p.key])).toEqual([
      ["web", "volumes_from"],
      ["web", "net"],
      ["web", "privileged"],
      ["data", "cpu_shares"],
    ]);
    let error: unknown;
    try {
      exportCompose(parsed, { swarm: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SwarmExportError);
    expect((error as SwarmExportError).problems).toEqual(problems);
    expect((error as Error).message).toBe(
      "4 service keys cannot run on a Swarm cluster:\n" +
        problems.map((p) => `  service "${p.service}": ${p.message}`).join("\n"),
    );
    expect(problems[0].message).toMatch(/^volumes_from cannot run on a Swarm cluster: /);
    // On one node the same services export as they are.
    expect(() => exportCompose(parsed)).not.toThrow();
  });

  test("compose --swarm reports each at its key like a Stackfile error: exit 1, no output", async () => {
    const file = tempFile("stack.yml", text);
    const message = (service: string, key: string) =>
      spec(text)
        .services.flatMap(swarmProblems)
        .find((p) => p.service === service && p.key === key)!.message;
    expect(await cli("compose", file, "--swarm")).toEqual({
      code: 1,
      out: "",
      err:
        `${file}:4:3: error: service "web": ${message("web", "volumes_from")}\n` +
        `${file}:5:3: error: service "web": ${message("web", "net")}\n` +
        `${file}:3:3: error: service "web": ${message("web", "privileged")}\n` +
        `${file}:8:3: error: service "data": ${message("data", "cpu_shares")}\n`,
    });
  });
});

describe("dropstack compose for a Swarm", () => {
  test("a missing build context is an error, shown with the keys the export refuses", async () => {
    const file = tempFile("stack.yml", "web:\n  build: ./app\n  privileged: true\n");
    const [problem] = spec("web:\n  image: x\n  privileged: true\n").services.flatMap(
      swarmProblems,
    );
    const context = path.relative(process.cwd(), path.join(path.dirname(file), "app"));
    expect(await cli("compose", file, "--swarm")).toEqual({
      code: 1,
      out: "",
      err:
        `${file}:3:3: error: service "web": ${problem.message}\n` +
        `${file}:2:3: error: service "web": build context ${context} is not a folder ` +
        "(build paths are relative to the Stackfile)\n",
    });
  });

  test("a built service runs the tag the program builds: its context's hash", async () => {
    const { contextHash } = await import("../components/stack");
    const { code, out, err } = await cli("compose", "test/engine/swarm/stack.yml", "--swarm");
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const hash = contextHash(path.join(ROOT, "test", "engine", "swarm", "web")).slice(0, 12);
    const doc = YAML.parse(out);
    expect([doc.services.web.image, doc.services.client.image, doc.services.agent.image]).toEqual([
      `dropstack/web:${hash}`,
      `dropstack/client:${hash}`,
      `dropstack-test/swarm-agent:${hash}`,
    ]);
    expect(out).toContain(
      "# docker stack deploy builds nothing: first build these images on every node that may run\n" +
        "# them (or push them to a registry the nodes reach), from the Stackfile's folder:\n" +
        `#   docker build -t dropstack/web:${hash} web\n` +
        `#   docker build -t dropstack/client:${hash} web\n` +
        `#   docker build -t dropstack-test/swarm-agent:${hash} web\n` +
        "# and deploy with --resolve-image never: no registry has them to resolve.\n" +
        "# Tagged services run only on nodes labelled dropstack.tag.<tag>=true.\n" +
        "# A dropstack cluster labels its nodes so; on another swarm, label them first:\n" +
        "#   docker node update --label-add dropstack.tag.edge=true <node>\n",
    );
  });

  test("a stack with nodes above 1 gets the swarm export without --swarm", async () => {
    const { code, out } = await cli("compose", "--stack", "cluster");
    expect(code).toBe(0);
    const doc = YAML.parse(out);
    expect(doc.version).toBe("3.8");
    expect(doc.services.mongo.deploy.placement).toEqual({
      constraints: ["node.labels.dropstack.data == true"],
    });
    expect(doc.services.datascience).not.toHaveProperty("build");
    // One node: the compose export, as before.
    expect(YAML.parse((await cli("compose", "--stack", "dev")).out)).not.toHaveProperty("version");
  });

  test("on a cluster stack, a tag no node carries is an error, as pulumi up would say", async () => {
    const file = tempFile("stack.yml", "web:\n  image: x\n  tags:\n    - gpu\n");
    const { code, out, err } = await cli("compose", file, "--stack", "cluster");
    expect({ code, out }).toEqual({ code: 1, out: "" });
    expect(err).toContain(
      `${file}:3:3: error: no node of the cluster is tagged gpu, so Swarm could never place the ` +
        "service; tag a node with dropstack:nodeTags, or remove the tag\n",
    );
    // Without a stack no node's tags are known: the tag is a constraint the header explains.
    const swarm = await cli("compose", file, "--swarm");
    expect(swarm.code).toBe(0);
    expect(YAML.parse(swarm.out).services.web.deploy.placement).toEqual({
      constraints: ["node.labels.dropstack.tag.gpu == true"],
    });
    expect(swarm.out).toContain(
      "#   docker node update --label-add dropstack.tag.gpu=true <node>\n",
    );
  });

  test("the cluster's tags are those of the nodes it has", () => {
    expect(
      clusterNodeTags({ nodes: 2, nodeTags: { "1": ["db"], "2": ["gpu", "db"], "3": ["edge"] } }),
    ).toEqual(["db", "gpu"]);
  });

  test("--output writes a .env that says stack deploy reads none", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-swarm-")), "stack.yml");
    const { code, out } = await cli("compose", "--stack", "cluster", "--output", file);
    expect(code).toBe(0);
    expect(out).toBe(
      `wrote ${file}\nwrote ${path.join(path.dirname(file), ".env")}: fill in MONGO_PASSWORD, PASSWORD\n`,
    );
    expect(fs.readFileSync(path.join(path.dirname(file), ".env"), "utf8")).toBe(
      "# Values for the file made by `dropstack compose stacks/datascience.yml --swarm`. docker stack deploy\n" +
        "# reads no .env: load this one first with `set -a; . ./.env; set +a`. Fill in each value\n" +
        "# (keep this file out of version control).\n" +
        "MONGO_PASSWORD=\nPASSWORD=\n",
    );
    expect(fs.readFileSync(file, "utf8")).toContain(
      "MONGO_INITDB_ROOT_PASSWORD: ${MONGO_PASSWORD:?set MONGO_PASSWORD in the environment}\n",
    );
  });
});

/** Stackfiles whose services all run on a Swarm, with the variables each needs. */
const SWARM_FIXTURES: [string, Record<string, string>][] = [
  ["stacks/datascience.yml", {}],
  ["test/fixtures/wordpress.yml", {}],
  ["test/fixtures/seed-stackfile.yml", { USERNAME: "alice" }],
  ["test/engine/swarm/stack.yml", {}],
];

describe.each(SWARM_FIXTURES)("the swarm export of %s", (file, vars) => {
  testWithTool("docker", ["stack", "config", "--skip-interpolation", "--help"])(
    "passes docker stack config with every deploy key as written",
    () => {
      const parsed = parseStackfile(fs.readFileSync(path.join(ROOT, file), "utf8"), file, {
        vars,
        cluster: true,
        nodeTags: ["edge"],
      }).spec;
      const { compose, variables } = exportCompose(parsed, {
        swarm: true,
        builtImage: (s) => `dropstack/${s.name}:0123456789ab`,
      });
      const out = tempFile("stack.yml", compose);
      const env = {
        ...process.env,
        ...Object.fromEntries(variables.map((v) => [v, `value-of-${v}`])),
      };
      const result = run("docker", ["stack", "config", "-c", out], undefined, env);
      expect(result.status).toBe(0);
      const config = YAML.parse(result.output);
      const ours = YAML.parse(compose);
      expect(Object.keys(config.services).sort()).toEqual(Object.keys(ours.services).sort());
      for (const [name, service] of Object.entries<any>(ours.services)) {
        expect(config.services[name].deploy).toEqual(service.deploy);
        expect(config.services[name].networks).toEqual(service.networks);
        expect(config.services[name].image).toBe(service.image);
      }
    },
  );
});
