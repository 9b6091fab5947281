// Defects found by replaying public Stackfiles: each class with its exact message or value.
import { parseStackfile, StackfileError, toCompose } from "../stackfile";
import * as YAML from "yaml";

function errorsOf(text: string): string[] {
  try {
    parseStackfile(text, "s.yml");
  } catch (e) {
    if (e instanceof StackfileError)
      return e.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`);
    throw e;
  }
  return [];
}

describe("Stackfiles written for other tools or Docker Cloud's API", () => {
  test("a Compose v2/v3 file is recognised and the conversion explained", () => {
    expect(errorsOf('version: "3"\nservices:\n  web:\n    image: nginx\n')).toEqual([
      "1:1: this is a Compose file (version: and services:), not a Stackfile; dropstack reads Docker Cloud's " +
        "format, where each top-level key is a service. To convert: move each service under services: to " +
        "the top level, drop version:, and turn top-level networks:, volumes: and secrets: into the " +
        "services' own keys (see docs/stackfile.md)",
    ]);
    expect(errorsOf("services:\n  web:\n    image: nginx\n")[0]).toMatch(
      /^1:1: this is a Compose file/,
    );
  });

  test("a link to a Docker Cloud UUID says what it was and what to write instead", () => {
    expect(
      errorsOf(
        'web:\n  image: x\n  links: ["0c2c5b8d-1a2b-4c3d-9e8f-0123456789ab"]\ndb:\n  image: y\n',
      ),
    ).toEqual([
      '3:11: "0c2c5b8d-1a2b-4c3d-9e8f-0123456789ab" is a Docker Cloud service UUID; Docker Cloud resolved ' +
        "it through its API, which is gone. Link to the service by its name in this Stackfile instead: web, db",
    ]);
  });
});

describe("YAML as Docker Cloud's YAML 1.1 parser read it", () => {
  test("merge keys bring an anchored service's keys in", () => {
    const { spec } = parseStackfile(
      "base: &base\n  image: x\n  environment: [A=1]\nweb:\n  <<: *base\n  ports: ['80:80']\n",
      "s.yml",
    );
    expect(spec.services[1]).toMatchObject({ name: "web", image: "x", environment: { A: "1" } });
  });

  test("a merged-in unknown key is reported with the nearest known one", () => {
    expect(errorsOf("base: &base\n  imgae: x\nweb:\n  <<: *base\n  image: y\n")).toEqual([
      '1:1: service "base" needs an image (or a build)',
      '2:3: unknown key "imgae" in service "base"; did you mean "image"?',
      '2:3: unknown key "imgae" in service "web"; did you mean "image"?',
    ]);
  });

  test("yes, no, on and off are booleans where the key is one, and the export writes true/false", () => {
    const { spec } = parseStackfile(
      "web:\n  image: x\n  tty: yes\n  stdin_open: On\n  privileged: no\n  read_only: off\n",
      "s.yml",
    );
    expect(spec.services[0]).toMatchObject({
      tty: true,
      stdinOpen: true,
      privileged: false,
      readOnly: false,
    });
    expect(YAML.parse(toCompose(spec)).services.web).toMatchObject({
      tty: true,
      stdin_open: true,
      privileged: false,
      read_only: false,
    });
  });

  test("a bare label is a label with an empty value, as Docker and Compose take it", () => {
    const { spec } = parseStackfile(
      "web:\n  image: x\n  labels: [com.example.flag, a=b]\n",
      "s.yml",
    );
    expect(spec.services[0].labels).toEqual({ "com.example.flag": "", a: "b" });
  });

  test("a duplicate key names the key and its service; a duplicate service names it", () => {
    expect(errorsOf("web:\n  image: x\n  image: y\ndb:\n  image: z\nweb:\n  image: q\n")).toEqual([
      '3:3: duplicate key "image" in service "web": a later value would silently replace the first',
      '6:1: duplicate service "web": a later value would silently replace the first',
    ]);
  });
});

describe("keys checked on the deployed container", () => {
  test("mac_address needs one container on the stack network", () => {
    expect(
      errorsOf("a:\n  image: x\n  mac_address: 02:42:ac:11:00:02\n  target_num_containers: 2\n"),
    ).toEqual([
      "3:3: mac_address is one address but target_num_containers is 2: containers on one network need different addresses",
    ]);
    expect(errorsOf("a:\n  image: x\n  mac_address: 02:42:ac:11:00:02\n  net: host\n")).toEqual([
      "3:3: mac_address has no meaning with net: host, where the container shares the node's network",
    ]);
  });
});

describe("the restart policy of a service that sets none", () => {
  const restartOf = (text: string) =>
    Object.fromEntries(parseStackfile(text, "s.yml").spec.services.map((s) => [s.name, s.restart]));

  test("long-running services come back after a reboot; a data-only container keeps Docker Cloud's no", () => {
    expect(
      restartOf(
        "data:\n  image: tianon/true\n  volumes: [/shared]\n" +
          "app:\n  image: x\n  volumes_from: [data]\n  expose: ['8000']\n" +
          "worker:\n  image: y\n",
      ),
    ).toEqual({ data: "no", app: "unless-stopped", worker: "unless-stopped" });
  });

  const warningsOf = (text: string) =>
    parseStackfile(text, "s.yml").warnings.map((d) => `${d.line}:${d.column}: ${d.message}`);

  test("a service that looks like a task that runs once is warned about, naming why", () => {
    expect(
      warningsOf(
        "perms:\n  image: busybox:1.36\n  command: chown -R 1000:1000 /data\n" +
          'init:\n  image: alpine:3.20\n  command: ["sh", "-c", "mkdir -p /data/x && echo done"]\n' +
          "true:\n  image: tianon/true\n",
      ),
    ).toEqual(
      [
        "1:1: perms (command: chown -R 1000:1000 /data)",
        "4:1: init (command: mkdir -p /data/x && echo done)",
        "7:1: true (image tianon/true with no command)",
      ].map((s) => {
        const [, at, name, why] = /^(\S+) (\S+) (.*)$/.exec(s)!;
        return (
          `${at} service "${name}" looks like a task that runs once ${why} and sets no restart: ` +
          'dropstack restarts it whenever it exits, over and over; set restart: "no" for a task ' +
          "that runs once, or on-failure for one to retry until it succeeds"
        );
      }),
    );
  });

  test("workers, listeners, interactive shells, data-only containers and set policies are not", () => {
    expect(
      warningsOf(
        "worker:\n  image: python:3.12\n  command: celery -A app worker\n" +
          "web:\n  image: busybox:1.36\n  command: httpd -f -p 8080\n  expose: ['8080']\n" +
          "shell:\n  image: alpine:3.20\n  stdin_open: true\n  tty: true\n" +
          "shared:\n  image: tianon/true\n  volumes: [/shared]\n" +
          "app:\n  image: nginx:1.27\n  volumes_from: [shared]\n" +
          "once:\n  image: busybox:1.36\n  command: chown -R 1000 /x\n  restart: 'no'\n",
      ),
    ).toEqual([]);
  });

  test("a policy the Stackfile sets is kept, even on a volumes_from source", () => {
    expect(
      restartOf("data:\n  image: x\n  restart: always\napp:\n  image: y\n  volumes_from: [data]\n"),
    ).toEqual({ data: "always", app: "unless-stopped" });
  });
});

describe("Docker Cloud's cluster keys", () => {
  const file = "a:\n  image: x\n  deployment_strategy: every_node\n  tags: [gpu]\n";
  const warningsOf = (options: { cluster?: boolean; nodeTags?: string[] }) =>
    parseStackfile(file, "s.yml", options).warnings.map((d) => d.message);

  test("are read for a cluster, where they mean something, without a warning", () => {
    const { spec, warnings } = parseStackfile(file, "s.yml", { cluster: true, nodeTags: ["gpu"] });
    expect(warnings).toEqual([]);
    expect(spec.services[0]).toMatchObject({ deploymentStrategy: "every_node", tags: ["gpu"] });
  });

  test("on one node, say they have no effect there", () => {
    expect(warningsOf({ nodeTags: [] })).toEqual([
      "deployment_strategy has no effect on one node: every container runs on it",
      "the node is not tagged gpu; dropstack deploys to its one node regardless",
    ]);
  });

  test("on a cluster, a fixed host port may have several replicas: the routing mesh publishes it once", () => {
    const scaled = 'web:\n  image: x\n  target_num_containers: 3\n  ports: ["80:80"]\n';
    expect(() => parseStackfile(scaled, "s.yml")).toThrow("only one container can have it");
    expect(parseStackfile(scaled, "s.yml", { cluster: true }).spec.services[0].replicas).toBe(3);
  });
});
