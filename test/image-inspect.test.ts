// What images declare, read on the Docker host at deploy time by scripts/image-inspect.sh: the
// ports linked images expose, for link variables (as Docker's links and Docker Cloud did), and
// the volumes images declare, kept on the data volume (as Docker Cloud kept them).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseExposedPorts, parseImageVolumes, unplacedImageVolumes } from "../stackfile";
import type { ServiceSpec } from "../stackfile";
import { FAKE_IP, ProgramRun, ROOT, runProgram } from "./harness";
import { run } from "./tools";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const WORDPRESS = path.join(ROOT, "test", "fixtures", "wordpress.yml");

function envOf(run: ProgramRun, container: string): Record<string, string> {
  const envs: string[] = run.find(CONTAINER, container).inputs.envs;
  return Object.fromEntries(
    envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

describe("a WordPress stack whose MySQL port only the image declares", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({
      stack: "dev",
      config: { "dropstack:stackfile": WORDPRESS },
      commandStdout: { "stack-ports-db": "3306/tcp 33060/tcp " },
    });
  });

  test("reads the linked image's ports on the node, over SSH with the pinned host key", () => {
    const ports = run.find(COMMAND, "stack-ports-db");
    const image = run.find("docker:index/remoteImage:RemoteImage", "stack-image-mysql-8-4");
    const [sh, script, what, id] = ports.inputs.create.split(" ");
    expect({ sh, what, id }).toEqual({ sh: "sh", what: "ports", id: image.state!.imageId });
    // Relative to the folder Pulumi runs commands in (the project folder; a temp one here).
    expect(fs.realpathSync(path.resolve(run.cwd, script))).toBe(
      fs.realpathSync(path.join(ROOT, "scripts", "image-inspect.sh")),
    );
    expect(ports.inputs.environment.DROPSTACK_HOST).toBe(FAKE_IP);
    expect(ports.inputs.environment.DROPSTACK_SSH_OPTS).toContain("StrictHostKeyChecking=yes");
    expect(ports.dependsOn).toContain("stack-image-mysql-8-4");
    // Only linked services' images are read: nothing links to WordPress.
    expect(run.all(COMMAND).map((c) => c.name)).not.toContain("stack-ports-wordpress");
  });

  test("gives WordPress Docker's link variables for them, under the link alias", () => {
    expect(envOf(run, "stack-wordpress-1")).toMatchObject({
      MYSQL_PORT: "tcp://mysql:3306",
      MYSQL_PORT_3306_TCP_ADDR: "mysql",
      MYSQL_PORT_3306_TCP_PORT: "3306",
      MYSQL_PORT_33060_TCP: "tcp://mysql:33060",
      MYSQL_1_PORT_3306_TCP_ADDR: "mysql-1",
    });
    expect(run.find(CONTAINER, "stack-wordpress-1").dependsOn).toContain("stack-ports-db");
  });

  test("locally, reads them from this machine's Docker", async () => {
    const local = await runProgram({
      stack: "local",
      config: { "dropstack:stackfile": WORDPRESS, "dropstack:target": "local" },
      commandStdout: { "stack-ports-db": "3306/tcp " },
    });
    expect(local.find(COMMAND, "stack-ports-db").inputs.environment).toEqual({});
    expect(envOf(local, "stack-wordpress-1").MYSQL_PORT_3306_TCP_ADDR).toBe("mysql");
  });
});

describe("parseExposedPorts", () => {
  test("reads the script's output, leaving SCTP out", () => {
    expect(parseExposedPorts("3306/tcp 53/udp 9/sctp \n")).toEqual([
      { port: 3306, protocol: "tcp" },
      { port: 53, protocol: "udp" },
    ]);
    expect(parseExposedPorts("\n")).toEqual([]);
  });

  test("refuses anything else rather than read it as no ports", () => {
    expect(() => parseExposedPorts("map[3306/tcp:{}]")).toThrow(
      'not an exposed port: "map[3306/tcp:{}]"',
    );
  });
});

describe("scripts/image-inspect.sh", () => {
  const SCRIPT = path.join(ROOT, "scripts", "image-inspect.sh");
  const ID = `sha256:${"ab12".repeat(16)}`;
  /** Stand-ins for docker and ssh that print how they were called. */
  function fakes(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-ports-"));
    for (const tool of ["docker", "ssh"]) {
      fs.writeFileSync(
        path.join(dir, tool),
        `#!/bin/sh\nfor a in "$@"; do printf '<%s>' "$a"; done\necho\n`,
        { mode: 0o755 },
      );
    }
    return dir;
  }

  test("asks this machine's Docker, with the template as one argument", () => {
    const env = { PATH: `${fakes()}:/usr/bin:/bin` };
    expect(run("sh", [SCRIPT, "ports", ID], undefined, env)).toEqual({
      status: 0,
      output: `<image><inspect><--format><{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}><${ID}>\n`,
    });
    expect(run("sh", [SCRIPT, "volumes", ID], undefined, env)).toEqual({
      status: 0,
      output: `<image><inspect><--format><{{json .Config.Volumes}}><${ID}>\n`,
    });
  });

  test("asks the node over SSH, quoting the template for the remote shell", () => {
    const env = {
      PATH: `${fakes()}:/usr/bin:/bin`,
      DROPSTACK_HOST: "203.0.113.10",
      DROPSTACK_SSH_OPTS: "-i key -o StrictHostKeyChecking=yes",
    };
    expect(run("sh", [SCRIPT, "ports", ID], undefined, env)).toEqual({
      status: 0,
      output:
        "<-i><key><-o><StrictHostKeyChecking=yes><-o><ConnectTimeout=10><root@203.0.113.10>" +
        `<docker image inspect --format '{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}' ${ID}>\n`,
    });
  });

  test("refuses anything but an image ID, which the remote shell would read", () => {
    expect(
      run("sh", [SCRIPT, "ports", "sha256:ab; rm -rf /"], undefined, { PATH: "/usr/bin:/bin" }),
    ).toEqual({
      status: 2,
      output: "image-inspect.sh: not an image ID: sha256:ab; rm -rf /\n",
    });
  });

  test("refuses to read anything but ports and volumes", () => {
    expect(
      run("sh", [SCRIPT, "{{.Config.Env}}", ID], undefined, { PATH: "/usr/bin:/bin" }),
    ).toEqual({
      status: 2,
      output: "usage: image-inspect.sh ports|volumes IMAGE_ID\n",
    });
  });
});

describe("volumes an image declares", () => {
  const MYSQL = { "stack-volumes-db": '{"/var/lib/mysql":{}}' };

  test("stay on the node's data volume, where the Stackfile's anonymous volumes go", async () => {
    const run = await runProgram({
      stack: "dev",
      config: { "dropstack:stackfile": WORDPRESS },
      commandStdout: MYSQL,
    });
    const inspect = run.find(COMMAND, "stack-volumes-db");
    expect(inspect.inputs.create).toMatch(/^sh \S*scripts\/image-inspect\.sh volumes sha256:/);
    expect(inspect.inputs.environment.DROPSTACK_HOST).toBe(FAKE_IP);
    // Docker Cloud kept them across redeploys; Docker's anonymous volume would go with the
    // container, so an edit would start MySQL on an empty folder.
    expect(run.find(CONTAINER, "stack-db-1").inputs.volumes).toEqual([
      { hostPath: "/mnt/data/dev/db/_anonymous/var/lib/mysql", containerPath: "/var/lib/mysql" },
    ]);
    expect(run.find(CONTAINER, "stack-db-1").dependsOn).toContain("stack-volumes-db");
  });

  test("on the local target stay Docker's own anonymous volumes", async () => {
    const run = await runProgram({
      stack: "local",
      config: { "dropstack:stackfile": WORDPRESS, "dropstack:target": "local" },
      commandStdout: MYSQL,
    });
    expect(run.all(COMMAND).map((c) => c.name)).not.toContain("stack-volumes-db");
    expect(run.find(CONTAINER, "stack-db-1").inputs.volumes).toEqual([]);
  });

  test("are read from Docker's JSON, and anything else is refused rather than read as none", () => {
    expect(parseImageVolumes('{"/var/lib/mysql":{},"/etc/mysql/conf.d":{}}\n')).toEqual([
      "/etc/mysql/conf.d",
      "/var/lib/mysql",
    ]);
    expect(parseImageVolumes("null\n")).toEqual([]);
    expect(() => parseImageVolumes("map[/data:{}]")).toThrow(
      'not an image\'s volumes: "map[/data:{}]"',
    );
    expect(() => parseImageVolumes('["/data"]')).toThrow("not an image's volumes");
  });

  test("a volume the Stackfile places, or one inside it, is left to the Stackfile", () => {
    const service = { volumes: [{ target: "/var/lib/postgresql/" }] } as unknown as ServiceSpec;
    expect(
      unplacedImageVolumes(service, [
        "/var/lib/postgresql",
        "/var/lib/postgresql/data",
        "/var/lib/postgresql-extra",
        "/etc/conf/",
      ]),
    ).toEqual(["/var/lib/postgresql-extra", "/etc/conf"]);
  });
});
