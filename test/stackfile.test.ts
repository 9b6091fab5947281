import * as fs from "fs";
import * as path from "path";
import {
  formatDiagnostic,
  goDuration,
  interpolate,
  parseDuration,
  swarmDuration,
  linkEnvironment,
  parseStackfile,
  secretToken,
  SERVICE_KEYS,
  StackfileError,
  words,
} from "../stackfile";
import type { ParseOptions, ServiceSpec } from "../stackfile";

const SEED = path.join(__dirname, "fixtures", "seed-stackfile.yml");

function parse(text: string, options: ParseOptions = {}) {
  return parseStackfile(text, "stack.yml", options);
}

function service(text: string, options: ParseOptions = {}): ServiceSpec {
  return parse(text, options).spec.services[0];
}

/** The diagnostics a bad Stackfile gets, as `file:line:column: message`. */
function errorsOf(text: string, options: ParseOptions = {}): string[] {
  try {
    parse(text, options);
  } catch (e) {
    if (e instanceof StackfileError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  throw new Error("expected the Stackfile to be rejected");
}

describe("the seed Stackfile", () => {
  const text = fs.readFileSync(SEED, "utf8");

  test("explains its #...# fill-in markers and asks for USERNAME", () => {
    try {
      parseStackfile(text, "seed-stackfile.yml");
      throw new Error("expected an error");
    } catch (e) {
      const error = e as StackfileError;
      expect(error.diagnostics.map(formatDiagnostic)).toEqual([
        "seed-stackfile.yml:4:10: no value for ${USERNAME}; set it with `npx pulumi config set --path stackVars.USERNAME <value>` " +
          "(add --secret for a secret). Unset variables ending in PASSWORD, SECRET, TOKEN or KEY are generated",
      ]);
      expect(error.warnings.map(formatDiagnostic)).toEqual([
        'seed-stackfile.yml:4:10: "#USERNAME#" is a fill-in marker from the original guide, not Stackfile syntax; dropstack reads it as ${USERNAME}',
        'seed-stackfile.yml:6:7: "#PASSWORD#" is a fill-in marker from the original guide, not Stackfile syntax; dropstack reads it as ${PASSWORD}',
      ]);
    }
  });

  test("parses with USERNAME set, generating PASSWORD", () => {
    const { spec } = parseStackfile(text, "seed-stackfile.yml", { vars: { USERNAME: "alice" } });
    expect(spec.generated).toEqual(["PASSWORD"]);
    const [datascience, mongo] = spec.services;
    expect(datascience).toMatchObject({
      name: "datascience",
      image: "alice/datascience:latest",
      environment: { PASSWORD: secretToken("PASSWORD") },
      links: [{ service: "mongo", alias: "mongo" }],
      ports: [{ host: 80, container: 8888, protocol: "tcp" }],
      restart: "unless-stopped",
      replicas: 1,
    });
    expect(mongo).toMatchObject({
      name: "mongo",
      image: "mongo:latest",
      expose: [{ port: 27017, protocol: "tcp" }],
      ports: [],
    });
  });
});

describe("service keys", () => {
  test("the reference in docs/stackfile.md documents exactly the keys the parser knows", () => {
    const reference = fs.readFileSync(path.join(__dirname, "..", "docs", "stackfile.md"), "utf8");
    const documented = [
      ...reference.matchAll(/^\| `([a-z_]+)`(?:, `([a-z_]+)`)*(?:, `([a-z_]+)`)*/gm),
    ].flatMap((m) => m[0].match(/`[a-z_]+`/g)!.map((k) => k.slice(1, -1)));
    expect(documented.length).toBeGreaterThan(40);
    for (const key of documented)
      expect({ key, known: SERVICE_KEYS.includes(key) }).toEqual({ key, known: true });
    for (const key of SERVICE_KEYS)
      expect({ key, documented: documented.includes(key) }).toEqual({ key, documented: true });
  });

  test("command and entrypoint take a string, split like a shell, or a list", () => {
    const s = service(
      `a:\n  image: x\n  command: python -c "print('hi there')" --flag\n  entrypoint: [/bin/sh, -c]\n`,
    );
    expect(s.command).toEqual(["python", "-c", "print('hi there')", "--flag"]);
    expect(s.entrypoint).toEqual(["/bin/sh", "-c"]);
  });

  test("environment and labels take a list of K=V or a map", () => {
    const list = service(`a:\n  image: x\n  environment: [A=1, B=two=2, C=]\n  labels: [x.y=z]\n`);
    const map = service(
      `a:\n  image: x\n  environment: {A: 1, B: "two=2", C: ""}\n  labels: {x.y: z}\n`,
    );
    for (const s of [list, map]) {
      expect(s.environment).toEqual({ A: "1", B: "two=2", C: "" });
      expect(s.labels).toEqual({ "x.y": "z" });
    }
  });

  test("ports take H:C, C and a protocol; expose takes a port and a protocol", () => {
    const s = service(
      `a:\n  image: x\n  ports: ["80:8888", "53:53/udp", 9000, "9001/tcp"]\n  expose: [27017, "5353/udp"]\n`,
    );
    expect(s.ports).toEqual([
      { host: 80, container: 8888, protocol: "tcp" },
      { host: 53, container: 53, protocol: "udp" },
      { host: undefined, container: 9000, protocol: "tcp" },
      { host: undefined, container: 9001, protocol: "tcp" },
    ]);
    expect(s.expose).toEqual([
      { port: 27017, protocol: "tcp" },
      { port: 5353, protocol: "udp" },
    ]);
  });

  test("volumes put relative and named paths on the data volume and keep absolute ones", () => {
    const s = service(
      `a:\n  image: x\n  volumes: [/data, "./notebooks:/work", "db:/var/db:ro", "/etc/hosts:/h:ro"]\n`,
    );
    expect(s.volumes).toEqual([
      { target: "/data", onDataVolume: false, readOnly: false },
      { source: "notebooks", target: "/work", onDataVolume: true, readOnly: false },
      { source: "db", target: "/var/db", onDataVolume: true, readOnly: true },
      { source: "/etc/hosts", target: "/h", onDataVolume: false, readOnly: true },
    ]);
  });

  test("links take svc and svc:alias; volumes_from takes svc and svc:ro", () => {
    const { spec } = parse(
      `a:\n  image: x\n  links: [b, "c:db"]\n  volumes_from: ["b:ro", c]\nb:\n  image: y\nc:\n  image: z\n`,
    );
    expect(spec.services[0].links).toEqual([
      { service: "b", alias: "b" },
      { service: "c", alias: "db" },
    ]);
    expect(spec.services[0].volumesFrom).toEqual([
      { service: "b", readOnly: true },
      { service: "c", readOnly: false },
    ]);
  });

  test.each([
    ["restart: always", "always"],
    ["restart: on-failure", "on-failure"],
    ['restart: "no"', "no"],
    ["autorestart: ALWAYS", "always"],
    ["autorestart: ON_FAILURE", "on-failure"],
    ["autorestart: OFF", "no"],
    ["tty: true", "unless-stopped"],
  ])("%s gives the restart policy %s", (line, policy) => {
    expect(service(`a:\n  image: x\n  ${line}\n`).restart).toBe(policy);
  });

  test("maps the docker run keys", () => {
    const s = service(
      [
        "a:",
        "  image: x",
        "  privileged: true",
        "  cap_add: [NET_ADMIN]",
        "  cap_drop: [MKNOD]",
        "  devices: [/dev/fuse, /dev/sda:/dev/xvda:r]",
        "  net: host",
        "  pid: host",
        "  dns: 8.8.8.8",
        "  dns_search: [example.com]",
        "  extra_hosts: ['db:10.0.0.2']",
        "  security_opt: [no-new-privileges]",
        "  cgroup_parent: m",
        "  working_dir: /w",
        "  user: '1000'",
        "  hostname: h",
        "  domainname: d",
        "  cpu_shares: 512",
        "  cpuset: 0,1",
        "  mem_limit: 256m",
        "  memswap_limit: -1",
        "  read_only: true",
        "  stdin_open: true",
        "  tty: true",
        "  target_num_containers: 3",
        "  sequential_deployment: true",
      ].join("\n"),
    );
    expect(s).toMatchObject({
      privileged: true,
      capAdd: ["NET_ADMIN"],
      capDrop: ["MKNOD"],
      devices: [
        { host: "/dev/fuse", container: "/dev/fuse", permissions: "rwm" },
        { host: "/dev/sda", container: "/dev/xvda", permissions: "r" },
      ],
      networkMode: "host",
      pidMode: "host",
      dns: ["8.8.8.8"],
      dnsSearch: ["example.com"],
      extraHosts: [{ host: "db", ip: "10.0.0.2" }],
      securityOpt: ["no-new-privileges"],
      cgroupParent: "m",
      workingDir: "/w",
      user: "1000",
      hostname: "h",
      domainname: "d",
      cpuShares: 512,
      cpuset: "0,1",
      memLimit: 256 * 1024 * 1024,
      memswapLimit: -1,
      readOnly: true,
      stdinOpen: true,
      tty: true,
      replicas: 3,
      sequential: true,
    });
  });

  test("build (an extension) takes a folder or context, dockerfile and args", () => {
    expect(service(`a:\n  build: ./app\n`).build).toEqual({
      context: "./app",
      dockerfile: undefined,
      args: {},
      at: { line: 2, column: 3 },
    });
    expect(
      service(
        `a:\n  build: {context: ., dockerfile: Dockerfile.dev, args: {V: 2}}\n  image: me/a\n`,
      ).build,
    ).toEqual({
      context: ".",
      dockerfile: "Dockerfile.dev",
      args: { V: "2" },
      at: { line: 2, column: 3 },
    });
  });

  test("healthcheck (an extension) takes a command string or list", () => {
    expect(
      service(
        `a:\n  image: x\n  healthcheck: {test: "curl -f localhost", interval: 10s, retries: 3}\n`,
      ).healthcheck,
    ).toEqual({
      test: ["CMD-SHELL", "curl -f localhost"],
      interval: "10s",
      timeout: undefined,
      startPeriod: undefined,
      retries: 3,
    });
  });

  test("healthcheck timings are checked, and spelt as Docker writes them back", () => {
    expect(
      service(
        "a:\n  image: x\n  healthcheck: {test: [CMD, 'true'], interval: 60s, timeout: 1500ms, start_period: 90s}\n",
      ).healthcheck,
    ).toMatchObject({ interval: "1m0s", timeout: "1.5s", startPeriod: "1m30s" });
    expect(
      errorsOf("a:\n  image: x\n  healthcheck:\n    test: [CMD, 'true']\n    interval: 30sec\n"),
    ).toEqual([
      'stack.yml:3:3: healthcheck interval "30sec" is not a duration; write a number with a unit, like 30s, 1m30s or 500ms',
    ]);
  });

  test("warns about keys that mean nothing on one node", () => {
    const { warnings } = parse(
      `a:\n  image: x\n  autodestroy: always\n  autoredeploy: true\n  deployment_strategy: every_node\n  tags: [gpu]\n`,
      { nodeTags: ["dev", "dropstack"] },
    );
    expect(warnings.map(formatDiagnostic)).toEqual([
      "stack.yml:3:3: autodestroy has no effect on dropstack: containers are kept until the stack changes",
      "stack.yml:4:3: autoredeploy has no effect on dropstack: `npx pulumi up` pulls an image only when its name or tag changes, so to deploy a new image give it a new tag (or pin it by digest, name@sha256:…) and run `npx pulumi up`",
      "stack.yml:5:3: deployment_strategy has no effect on one node: every container runs on it",
      "stack.yml:6:3: the node is not tagged gpu; dropstack deploys to its one node regardless",
    ]);
    expect(parse(`a:\n  image: x\n  tags: [dev]\n`, { nodeTags: ["dev"] }).warnings).toEqual([]);
  });
});

describe("interpolation", () => {
  test("fills ${VAR}, $VAR and defaults, and reads $$ as a literal $", () => {
    const s = service(
      `a:\n  image: "\${REPO}/app:\${TAG:-latest}"\n  environment:\n    - HOME_URL=http://$HOST/\n    - PRICE=$$5\n    - EMPTY=\${E:-fallback}\n    - DASH=\${UNSET-dash}\n`,
      { vars: { REPO: "me", HOST: "example.com", E: "" } },
    );
    expect(s.image).toBe("me/app:latest");
    expect(s.environment).toEqual({
      HOME_URL: "http://example.com/",
      PRICE: "$5",
      EMPTY: "fallback",
      DASH: "dash",
    });
  });

  test("generates unset variables named like secrets and keeps given secrets as placeholders", () => {
    const { spec } = parse(
      `a:\n  image: x\n  environment:\n    - P=\${DB_PASSWORD}\n    - T=\${API_TOKEN}\n    - K=\${GIVEN}\n`,
      {
        vars: { GIVEN: { secret: true } },
      },
    );
    expect(spec.generated).toEqual(["DB_PASSWORD", "API_TOKEN"]);
    expect(spec.services[0].environment).toEqual({
      P: secretToken("DB_PASSWORD"),
      T: secretToken("API_TOKEN"),
      K: secretToken("GIVEN"),
    });
  });

  test("keeps a secret's placeholder in command, entrypoint, healthcheck, labels and build args", () => {
    const spec = service(
      "cache:\n  image: redis:7\n  command: redis-server --requirepass ${REDIS_PASSWORD}\n" +
        "  entrypoint: [env, 'TOKEN=${API_TOKEN}']\n" +
        "  healthcheck:\n    test: redis-cli -a ${REDIS_PASSWORD} ping\n" +
        "  labels: {auth: '${API_TOKEN}'}\n",
    );
    expect(spec.command).toEqual(["redis-server", "--requirepass", secretToken("REDIS_PASSWORD")]);
    expect(spec.entrypoint).toEqual(["env", `TOKEN=${secretToken("API_TOKEN")}`]);
    expect(spec.healthcheck!.test).toEqual([
      "CMD-SHELL",
      `redis-cli -a ${secretToken("REDIS_PASSWORD")} ping`,
    ]);
    expect(spec.labels).toEqual({ auth: secretToken("API_TOKEN") });
    expect(
      service("a:\n  build:\n    context: .\n    args: {KEY: '${NPM_TOKEN}'}\n").build!.args,
    ).toEqual({ KEY: secretToken("NPM_TOKEN") });
  });

  test("refuses a secret anywhere else, where dropstack could not hand it over as a secret", () => {
    const allowed =
      "dropstack fills in only where it hands Docker the value as a secret: environment, " +
      "command, entrypoint, healthcheck, labels and build args";
    expect(
      errorsOf(
        "a:\n  image: 'x:${IMAGE_TOKEN}'\n  volumes: ['${DATA_KEY}:/data']\n" +
          "  build: './${CONTEXT_SECRET}'\n  environment: ['OK=${DB_PASSWORD}']\n",
      ),
    ).toEqual([
      `stack.yml:2:10: \${IMAGE_TOKEN} is a secret, which ${allowed}; not in image`,
      `stack.yml:3:13: \${DATA_KEY} is a secret, which ${allowed}; not in volumes`,
      `stack.yml:4:10: \${CONTEXT_SECRET} is a secret, which ${allowed}; not in build`,
    ]);
    // A value given with --secret is a secret too.
    expect(
      errorsOf("a:\n  image: x\n  hostname: '${HOST}'\n", { vars: { HOST: { secret: true } } }),
    ).toEqual([`stack.yml:3:13: \${HOST} is a secret, which ${allowed}; not in hostname`]);
  });

  test("lists every unset variable in one error at the first use", () => {
    expect(
      errorsOf(`a:\n  image: \${REPO}/x\n  environment:\n    - A=\${ALPHA}\n    - B=\${REPO}\n`),
    ).toEqual([
      "stack.yml:2:10: no value for ${REPO}, ${ALPHA}; set them with `npx pulumi config set --path stackVars.REPO <value>` " +
        "(add --secret for a secret). Unset variables ending in PASSWORD, SECRET, TOKEN or KEY are generated",
    ]);
  });

  test("rejects a $ that starts no reference", () => {
    expect(errorsOf(`a:\n  image: x\n  environment: ["A=\${oops"]\n`)).toEqual([
      'stack.yml:3:17: "${oops" is not a variable reference; write ${NAME}, or $$ for a literal $',
    ]);
  });

  test("explains that ${...} needs quotes inside a flow list", () => {
    expect(errorsOf(`a:\n  image: x\n  environment: [A=\${X}]\n`)).toEqual([
      'stack.yml:3:20: Missing , or : between flow sequence items (inside [ ] or { }, quote values that hold ${...}, like ["A=${X}"])',
    ]);
  });

  test("interpolate reports what it used", () => {
    expect(interpolate("${A}-$B-${C:-c}", (n) => (n === "A" ? "a" : undefined))).toEqual({
      value: "a--c",
      unset: ["B"],
      used: ["A", "B", "C"],
      invalid: undefined,
    });
  });
});

describe("errors", () => {
  test.each([
    [
      `a:\n  image: x\n  imgae: y\n`,
      'stack.yml:3:3: unknown key "imgae" in service "a"; did you mean "image"?',
    ],
    [`a:\n  image: x\n  frobnicate: 1\n`, 'stack.yml:3:3: unknown key "frobnicate" in service "a"'],
    [
      `a:\n  image: x\na:\n  image: y\n`,
      'stack.yml:3:1: duplicate service "a": a later value would silently replace the first',
    ],
    [`a:\n  command: x\n`, 'stack.yml:1:1: service "a" needs an image (or a build)'],
    [
      `a:\n  image: x\n  restart: sometimes\n`,
      'stack.yml:3:12: "restart" in service "a" must be one of "no", "on-failure", "always", "unless-stopped"',
    ],
    [
      `a:\n  image: x\n  privileged: "yes"\n`,
      'stack.yml:3:15: "privileged" in service "a" must be true or false, not "yes"',
    ],
    [
      `a:\n  image: x\n  target_num_containers: 0\n`,
      'stack.yml:3:26: "target_num_containers" in service "a" must be from 1 to 100, not 0',
    ],
    [
      `a:\n  image: x\n  cpu_shares: -5\n`,
      'stack.yml:3:15: "cpu_shares" in service "a" must be 2 or more, not -5',
    ],
    [`a:\n  image: ""\n`, 'stack.yml:2:10: "image" in service "a" must not be empty'],
    [
      `a:\n  image: x\n  healthcheck:\n    interval: 5s\n`,
      'stack.yml:4:5: "healthcheck" in service "a" needs "test"',
    ],
    [
      `a:\n  image: x\n  ports: [[80]]\n`,
      'stack.yml:3:11: item 1 of "ports" in service "a" must be a string or whole number, not a list',
    ],
    [
      `a:\n  image: x\n  ports: ["80:x"]\n`,
      'stack.yml:3:11: "80:x" is not a port; write "host:container" or "container", each 1-65535, with an optional /tcp or /udp',
    ],
    [
      `a:\n  image: x\n  ports: [70000]\n`,
      'stack.yml:3:11: "70000" is not a port; write "host:container" or "container", each 1-65535, with an optional /tcp or /udp',
    ],
    [
      `a:\n  image: x\n  expose: ["80:80"]\n`,
      'stack.yml:3:12: "80:80" is not a port; write a port 1-65535 with an optional /tcp or /udp',
    ],
    [
      `a:\n  image: x\n  volumes: ["data"]\n`,
      'stack.yml:3:13: "data" is not a volume; write "/container/path", "host:/container/path" or "host:/container/path:ro"',
    ],
    [
      `a:\n  image: x\n  volumes: ["../up:/x"]\n`,
      'stack.yml:3:13: "../up:/x": ".." may not leave the data volume; use an absolute host path instead',
    ],
    [
      `a:\n  image: x\n  mem_limit: lots\n`,
      'stack.yml:3:14: "lots" is not a memory size; write bytes or a number with b, k, m or g, like 256m',
    ],
    [
      `a:\n  image: x\n  environment: [JUSTNAME]\n`,
      'stack.yml:3:17: "JUSTNAME" has no value; write JUSTNAME=${JUSTNAME} to take it from stackVars',
    ],
    [
      `a:\n  image: x\n  links: ["b:c:d"]\nb:\n  image: y\n`,
      'stack.yml:3:11: "b:c:d" is not a link; write "service" or "service:alias"',
    ],
    [
      `a:\n  image: x\n  links: [b]\n`,
      'stack.yml:3:11: "b" is not a service in this Stackfile; services: a',
    ],
    [
      `a:\n  image: x\n  links: [db.other]\n`,
      'stack.yml:3:11: "db.other" names service "db" of another stack ("other"); dropstack deploys one Stackfile per node, so put that service in this Stackfile',
    ],
    [
      `a:\n  image: x\n  volumes_from: [z]\n`,
      'stack.yml:3:18: "z" is not a service in this Stackfile; services: a',
    ],
    [
      `a:\n  image: x\n  roles: [global]\n`,
      "stack.yml:3:3: roles gave a container a Docker Cloud API token, with which images such as dockercloud/haproxy found their backends through Docker Cloud's API; that API is gone, so dropstack cannot honour it. Remove the key: with links to its backends, dockercloud/haproxy works in link mode from the link variables",
    ],
    [
      `a:\n  image: x\n  external_links: [redis_1]\n`,
      "stack.yml:3:3: external_links is not supported (Docker Cloud did not support it either); link to a service in this Stackfile instead",
    ],
    [
      `a:\n  image: x\n  env_file: .env\n`,
      "stack.yml:3:3: env_file is not supported (Docker Cloud did not support it either); use environment with ${VAR} and stackVars",
    ],
    [
      `a:\n  image: x\n  links: [b]\nb:\n  image: y\n  links: [a]\n`,
      "stack.yml:3:11: services depend on each other in a circle: a -> b -> a; one of these links must go",
    ],
    [
      `a:\n  image: x\n  ports: ["80:80"]\nb:\n  image: y\n  ports: ["80:8080"]\n`,
      'stack.yml:6:11: host port 80/tcp is already published by service "a"',
    ],
    [
      `a:\n  image: x\n  target_num_containers: 2\n  ports: ["80:80"]\n`,
      'stack.yml:4:11: host port 80/tcp is fixed but target_num_containers is 2: only one container can have it; publish "80" for ephemeral host ports',
    ],
    [
      `- a\n- b\n`,
      "stack.yml:1:1: a Stackfile is a map of service names to services, like `web: { image: nginx }`",
    ],
    [`a: [\n`, expect.stringMatching(/^stack\.yml:2:1: /)],
    [
      `"bad name":\n  image: x\n`,
      'stack.yml:1:1: "bad name" is not a service name; use letters, digits, - and _',
    ],
  ])("%j is rejected with its position", (text, message) => {
    expect(errorsOf(text)).toEqual([message]);
  });

  test("a map's value that is a list is the problem of environment and labels, at the value", () => {
    expect(
      errorsOf(
        "a:\n  image: x\n  environment:\n    A: 1\n    DETECTORS:\n      - x\n      - y\n" +
          "  labels: {x.y: [z]}\n",
      ),
    ).toEqual([
      'stack.yml:6:7: "environment.DETECTORS" in service "a" must be a string, number or boolean, not a list',
      'stack.yml:8:17: "labels.x.y" in service "a" must be a string, number or boolean, not a list',
    ]);
  });

  test("a list item written KEY: value is told to be KEY=value, as the file wrote its value", () => {
    expect(
      errorsOf(
        "a:\n  image: x\n  environment:\n    - DETECTORS: ${D}\n    - B=1\n    - C: 'x y'\n" +
          "  labels: [x.y: z]\n",
        { vars: { D: "d" } },
      ),
    ).toEqual([
      'stack.yml:4:7: environment list items are written KEY=value, not KEY: value; write "- DETECTORS=${D}"',
      'stack.yml:6:7: environment list items are written KEY=value, not KEY: value; write "- C=x y"',
      'stack.yml:7:12: labels list items are written KEY=value, not KEY: value; write "x.y=z"',
    ]);
  });

  test("a value in none of a key's forms is told every form", () => {
    expect(
      errorsOf("a:\n  image: x\n  environment: A=1\n  command: {a: b}\n  build: [x]\n"),
    ).toEqual([
      'stack.yml:3:16: "environment" in service "a" must be a list or map, not "A=1"',
      'stack.yml:4:12: "command" in service "a" must be a string or list, not a map',
      'stack.yml:5:10: "build" in service "a" must be a string or map, not a list',
    ]);
  });

  test("a variable with no value is an error in a map as in a list, at its name", () => {
    expect(
      errorsOf(
        "a:\n  image: x\n  environment:\n    KEY:\n    B: 1\n    C: null\n" +
          "b:\n  image: x\n  environment: [KEY]\n",
      ),
    ).toEqual([
      'stack.yml:4:5: "KEY" has no value; write KEY: ${KEY} to take it from stackVars',
      'stack.yml:6:5: "C" has no value; write C: ${C} to take it from stackVars',
      'stack.yml:9:17: "KEY" has no value; write KEY=${KEY} to take it from stackVars',
    ]);
    // A label with no value is an empty label, in either form, as Docker takes it.
    expect(service("a:\n  image: x\n  labels:\n    flag:\n").labels).toEqual({ flag: "" });
  });

  test("a file whose services' keys are at the top level is said to look mis-indented, once", () => {
    expect(
      errorsOf(
        "web:\nimage: nginx\nenvironment:\n  - A=1\nports:\n  - '80:80'\nhealthcheck: {test: x}\n",
      ),
    ).toEqual([
      'stack.yml:1:1: service "web" must be a map, not empty',
      'stack.yml:2:1: "image" is a service key, not a service name: the file looks mis-indented; each service\'s keys go under its name, indented',
      'stack.yml:2:1: service "image" must be a map, not "nginx"',
      'stack.yml:3:1: service "environment" must be a map, not a list',
      'stack.yml:5:1: service "ports" must be a map, not a list',
      'stack.yml:7:1: service "healthcheck" needs an image (or a build)',
      'stack.yml:7:15: unknown key "test" in service "healthcheck"; did you mean "net"?',
    ]);
    // A service named like a key, with keys of its own (a merge's too), is a service.
    const { spec } = parse("base: &b\n  image: y\nhostname:\n  image: x\nuser:\n  <<: *b\n");
    expect(spec.services.map((s) => s.name)).toEqual(["base", "hostname", "user"]);
  });

  test("an unknown key inside healthcheck or build is reported at itself, with the nearest one", () => {
    expect(
      errorsOf(
        "a:\n  image: x\n  healthcheck:\n    test: x\n    intervall: 5s\n    frob: 1\n" +
          "b:\n  build:\n    context: .\n    dockerfle: D\n",
      ),
    ).toEqual([
      'stack.yml:5:5: unknown key "intervall" in healthcheck of service "a"; did you mean "interval"?',
      'stack.yml:6:5: unknown key "frob" in healthcheck of service "a"',
      'stack.yml:10:5: unknown key "dockerfle" in build of service "b"; did you mean "dockerfile"?',
    ]);
  });

  test("rejects aliases to missing anchors and alias bombs at the alias", () => {
    expect(errorsOf(`a:\n  image: *x\n`)).toEqual([
      "stack.yml:2:10: Unresolved alias (the anchor must be set before the alias): x",
    ]);
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
      .concat(
        ["b", "c", "d"].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${"abc"[i]}`).join(", ")}]`),
      )
      .join("\n");
    expect(errorsOf(bomb)).toEqual([
      "stack.yml:2:8: Excessive alias count indicates a resource exhaustion attack",
    ]);
  });

  test("reports every problem of one kind at once, in the order of the file", () => {
    expect(errorsOf(`a:\n  image: x\n  imgae: y\nb:\n  imag: z\n`)).toEqual([
      'stack.yml:3:3: unknown key "imgae" in service "a"; did you mean "image"?',
      'stack.yml:4:1: service "b" needs an image (or a build)',
      'stack.yml:5:3: unknown key "imag" in service "b"; did you mean "image"?',
    ]);
  });

  test("reports every problem of a service, though the schema rejected one of its keys", () => {
    const port =
      'write "host:container" or "container", each 1-65535, with an optional /tcp or /udp';
    expect(
      errorsOf(
        "a:\n  image: busybox\n  restart: sometimes\n  ports: ['99999', '80:80', '1:b']\n" +
          "  mem_limit: lots\n  links: [b]\n",
      ),
    ).toEqual([
      'stack.yml:3:12: "restart" in service "a" must be one of "no", "on-failure", "always", "unless-stopped"',
      `stack.yml:4:11: "99999" is not a port; ${port}`,
      `stack.yml:4:29: "1:b" is not a port; ${port}`,
      'stack.yml:5:14: "lots" is not a memory size; write bytes or a number with b, k, m or g, like 256m',
      'stack.yml:6:11: "b" is not a service in this Stackfile; services: a',
    ]);
    // Its restart is rejected, not unset: no warning that it sets none.
    const oneShot = "a:\n  image: busybox\n  command: chown -R 1000 /data\n  restart: sometimes\n";
    let rejected: StackfileError | undefined;
    try {
      parse(oneShot);
    } catch (e) {
      rejected = e as StackfileError;
    }
    expect(rejected?.warnings).toEqual([]);
    expect(
      errorsOf("a:\n  image: x\n  cpu_shares: -5\n  ports: ['0', '1:b']\n  mem_limit: lots\n"),
    ).toEqual([
      'stack.yml:3:15: "cpu_shares" in service "a" must be 2 or more, not -5',
      `stack.yml:4:11: "0" is not a port; ${port}`,
      `stack.yml:4:16: "1:b" is not a port; ${port}`,
      'stack.yml:5:14: "lots" is not a memory size; write bytes or a number with b, k, m or g, like 256m',
    ]);
  });

  test("reports problems of every kind in one run: keys, shapes, values, links and ports", () => {
    expect(
      errorsOf(
        "a:\n  image: x\n  imgae: y\n  ports: ['80:80']\n" +
          "b:\n  image: y\n  cpu_shares: lots\n" +
          "c:\n  image: z\n  ports: ['80:80', 'nope']\n  links: [d, b]\n",
      ),
    ).toEqual([
      'stack.yml:3:3: unknown key "imgae" in service "a"; did you mean "image"?',
      'stack.yml:7:15: "cpu_shares" in service "b" must be a whole number, not "lots"',
      'stack.yml:10:11: host port 80/tcp is already published by service "a"',
      'stack.yml:10:20: "nope" is not a port; write "host:container" or "container", each 1-65535, with an optional /tcp or /udp',
      'stack.yml:11:11: "d" is not a service in this Stackfile; services: a, b, c',
    ]);
  });
});

describe("link environment variables", () => {
  test("follow Docker Cloud's names, with the alias as the address", () => {
    const { spec } = parse(
      `web:\n  image: x\n  links: ["db:database"]\ndb:\n  image: mysql\n  expose: ["3306"]\n  ports: ["33060"]\n  environment: [MYSQL_PASS=pw]\n  target_num_containers: 2\n`,
    );
    const env = linkEnvironment(spec.services[0], spec.services);
    expect(env).toMatchObject({
      DATABASE_PORT: "tcp://database:3306",
      DATABASE_PORT_3306_TCP: "tcp://database:3306",
      DATABASE_PORT_3306_TCP_ADDR: "database",
      DATABASE_PORT_3306_TCP_PORT: "3306",
      DATABASE_PORT_3306_TCP_PROTO: "tcp",
      DATABASE_PORT_33060_TCP_ADDR: "database",
      DATABASE_ENV_MYSQL_PASS: "pw",
      DATABASE_1_PORT_3306_TCP_ADDR: "database-1",
      DATABASE_1_ENV_MYSQL_PASS: "pw",
      DATABASE_2_PORT_3306_TCP: "tcp://database-2:3306",
    });
    expect(Object.keys(env).filter((k) => k.startsWith("DATABASE_3"))).toEqual([]);
  });
});

test("words reports an unclosed quote", () => {
  const errors: string[] = [];
  expect(words(`echo "hi`, (m) => errors.push(m))).toEqual([]);
  expect(errors).toEqual(['unclosed " in "echo "hi"']);
});

describe("durations", () => {
  // Go's time.ParseDuration and Duration.String(), which Docker and the provider use.
  test.each([
    ["0", "0s", "0s"],
    ["10s", "10s", "10s"],
    ["60s", "1m0s", "1m"],
    ["90s", "1m30s", "1m30s"],
    ["1h", "1h0m0s", "1h"],
    ["1h30m", "1h30m0s", "1h30m"],
    ["2h0m5s", "2h0m5s", "2h0m5s"],
    ["1.5s", "1.5s", "1.5s"],
    ["1500ms", "1.5s", "1.5s"],
    ["500ms", "500ms", "500ms"],
    ["250us", "250µs", "250µs"],
    ["1m0.5s", "1m0.5s", "1m0.5s"],
    [".5m", "30s", "30s"],
  ])("%s is %s, and %s on a Swarm service", (text, go, swarm) => {
    expect(goDuration(parseDuration(text)!)).toBe(go);
    expect(swarmDuration(go)).toBe(swarm);
  });

  test.each(["", "30", "1x", "-5s", "1m 30s", "s", "5s!"])("%j is not a duration", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
