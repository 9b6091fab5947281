import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { parseStackfile, toCompose } from "../stackfile";
import { ROOT } from "./harness";
import { run, testWithTool } from "./tools";

/** Every valid Stackfile the project ships or tests with, and the variables each needs. */
const FIXTURES: [string, Record<string, string>][] = [
  ["stacks/datascience.yml", {}],
  ["test/fixtures/multi.yml", {}],
  ["test/fixtures/every-key.yml", {}],
  ["test/fixtures/seed-stackfile.yml", { USERNAME: "alice" }],
  ["test/fixtures/wordpress.yml", {}],
];

function exportOf(
  file: string,
  vars: Record<string, string>,
): { compose: string; needs: string[] } {
  const full = path.join(ROOT, file);
  const { spec } = parseStackfile(fs.readFileSync(full, "utf8"), file, { vars });
  return { compose: toCompose(spec), needs: spec.generated };
}

describe.each(FIXTURES)("the compose export of %s", (file, vars) => {
  testWithTool("docker-compose")("passes docker-compose config", () => {
    const { compose, needs } = exportOf(file, vars);
    const out = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-compose-")),
      "docker-compose.yml",
    );
    fs.writeFileSync(out, compose);
    const env = { ...process.env, ...Object.fromEntries(needs.map((n) => [n, `value-of-${n}`])) };
    const result = spawnSync(
      "docker-compose",
      ["--project-directory", path.dirname(path.join(ROOT, file)), "-f", out, "config"],
      { env, encoding: "utf8" },
    );
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    const config = YAML.parse(result.stdout);
    expect(Object.keys(config.services).sort()).toEqual(
      Object.keys(YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8"))).sort(),
    );
  });

  testWithTool("docker-compose")(
    "fails in docker-compose until the generated secrets are given",
    () => {
      const { compose, needs } = exportOf(file, vars);
      expect(needs.length).toBeGreaterThan(0);
      const out = path.join(
        fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-compose-")),
        "docker-compose.yml",
      );
      fs.writeFileSync(out, compose);
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !needs.includes(k)),
      );
      const result = run(
        "docker-compose",
        ["--project-directory", path.dirname(path.join(ROOT, file)), "-f", out, "config", "-q"],
        undefined,
        env,
      );
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(
        new RegExp(`set (${needs.join("|")}) in the environment or a \\.env file`),
      );
    },
  );
});

test("the export keeps ports, expose, links, volumes and literal dollars", () => {
  const { spec } = parseStackfile(
    `web:\n  image: x\n  links: ["db:database"]\n  ports: ["80:8888"]\n  environment: [PRICE=$$5]\ndb:\n  image: y\n  expose: ["5432"]\n  volumes: ["data:/var/lib/db"]\n`,
    "s.yml",
  );
  const compose = YAML.parse(toCompose(spec));
  expect(compose.services.web.ports).toEqual(["80:8888/tcp"]);
  expect(compose.services.web.environment.PRICE).toBe("$$5");
  expect(compose.services.web.environment.DATABASE_PORT_5432_TCP_ADDR).toBe("database");
  expect(compose.services.web.depends_on).toEqual(["db"]);
  expect(compose.services.db.expose).toEqual(["5432/tcp"]);
  // Every host the link variables name resolves under compose too.
  expect(compose.services.db.networks).toEqual({
    default: { aliases: ["database", "db-1", "database-1"] },
  });
  expect(compose.services.web.environment.DATABASE_1_PORT_5432_TCP_ADDR).toBe("database-1");
  expect(compose.services.db.volumes).toEqual(["db-data:/var/lib/db"]);
  expect(compose.volumes).toEqual({ "db-data": null });
});

testWithTool("docker-compose")(
  "values YAML 1.1 reads as booleans, numbers or times reach docker-compose as written",
  () => {
    const { spec } = parseStackfile(
      "cache:\n  image: redis\n  command: redis-server --appendonly yes\n" +
        "  environment: [AUTH=no, WINDOW=1:30, MODE=0777, FLAG=On]\n",
      "s.yml",
    );
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-compose-")), "c.yml");
    fs.writeFileSync(out, toCompose(spec));
    const result = run("docker-compose", ["-f", out, "config"]);
    expect(result.status).toBe(0);
    const cache = YAML.parse(result.output).services.cache;
    expect(cache.command).toEqual(["redis-server", "--appendonly", "yes"]);
    expect(cache.environment).toEqual({
      AUTH: "no",
      WINDOW: "1:30",
      MODE: "0777",
      FLAG: "On",
    });
  },
);

test("says that link variables from the linked images' EXPOSE are not in the export", () => {
  const note =
    "# Link variables here come from the ports the Stackfile lists. On a node, dropstack also\n" +
    "# adds those of the ports the linked images EXPOSE, which this export cannot know: list\n" +
    "# them under the linked service's expose: to have them here too.\n";
  const wordpress = exportOf("test/fixtures/wordpress.yml", {}).compose;
  expect(wordpress).toContain(note);
  expect(YAML.parse(wordpress).services.wordpress.environment).not.toHaveProperty(
    "MYSQL_PORT_3306_TCP_ADDR",
  );
  const unlinked = parseStackfile("web:\n  image: nginx:1.27\n", "stack.yml").spec;
  expect(toCompose(unlinked)).not.toContain("Link variables");
});
