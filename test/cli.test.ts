import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { renderCaddyfile } from "../proxy/caddy";
import { cli } from "./cli-run";
import { run, testWithTool } from "./tools";

describe("dropstack cloud-init", () => {
  testWithTool("cloud-init", ["--help"])(
    "prints user_data for the dev stack that cloud-init accepts",
    async () => {
      const { code, out } = await cli("cloud-init", "--stack", "dev");
      expect(code).toBe(0);
      expect(out).toContain("scsi-0DO_Volume_dropstack-dev-data");
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-")), "user-data");
      fs.writeFileSync(file, out);
      expect(run("cloud-init", ["schema", "--config-file", file])).toEqual({
        status: 0,
        output: expect.stringContaining("Valid cloud-config"),
      });
    },
  );

  test("says why the local stack has no user_data, and exits 1", async () => {
    const { code, out, err } = await cli("cloud-init", "--stack", "local");
    expect({ code, out }).toEqual({ code: 1, out: "" });
    expect(err).toBe(
      'dropstack: stack "local" has no droplet to give user_data: dropstack:target is local, ' +
        "which runs the services on this machine's Docker engine\n",
    );
  });

  test("names the stacks that have a file when the asked-for one has none", async () => {
    const { code, err } = await cli("cloud-init", "--stack", "nope");
    expect(code).toBe(2);
    expect(err).toMatch(
      /^dropstack: no Pulumi\.nope\.yaml here; stacks with a file: (\w+, )*dev(, \w+)*\n$/,
    );
  });

  test("rejects an unknown option, naming the one it takes", async () => {
    const { code, err } = await cli("cloud-init", "--stak", "dev");
    expect({ code, err }).toEqual({
      code: 2,
      err: 'dropstack cloud-init: unknown option "--stak"; the only option is --stack NAME\n',
    });
  });

  test("rejects an argument, naming the option it takes", async () => {
    const { code, err } = await cli("cloud-init", "dev");
    expect({ code, err }).toEqual({
      code: 2,
      err: 'dropstack cloud-init: unexpected argument "dev"; the only option is --stack NAME\n',
    });
  });
});

describe("a bad command line", () => {
  test("an unknown option is named, with the options the command has", async () => {
    expect(await cli("validate", "--foo", "stack.yml")).toEqual({
      code: 2,
      out: "",
      err: 'dropstack validate: unknown option "--foo"; the options are --stack NAME and --var NAME=VALUE\n',
    });
    expect((await cli("compose", "--out=x.yml", "stack.yml")).err).toBe(
      'dropstack compose: unknown option "--out"; the options are --stack NAME, --var NAME=VALUE, ' +
        "--output FILE and --swarm\n",
    );
  });

  test("an option without its value says what the value is", async () => {
    expect(await cli("validate", "stack.yml", "--stack")).toEqual({
      code: 2,
      out: "",
      err: "dropstack validate: --stack needs a value: --stack NAME\n",
    });
    expect((await cli("validate", "--var", "--stack", "dev")).err).toBe(
      "dropstack validate: --var needs a value: --var NAME=VALUE\n",
    );
  });

  test("a value given to a switch is refused", async () => {
    expect((await cli("compose", "--swarm=true", "stack.yml")).err).toBe(
      "dropstack compose: --swarm takes no value\n",
    );
  });
});

test("an unknown command prints the usage", async () => {
  const { code, err } = await cli("deploy");
  expect(code).toBe(2);
  expect(err).toMatch(/^dropstack: unknown command "deploy"\nusage: dropstack <command>/);
});

describe("dropstack validate", () => {
  const seed = path.join(__dirname, "fixtures", "seed-stackfile.yml");

  test("explains the seed's markers and exits 1 while USERNAME has no value", async () => {
    const { code, out, err } = await cli("validate", seed);
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err.split("\n")).toEqual([
      `${seed}:4:10: error: no value for \${USERNAME}; set it with \`npx pulumi config set --path stackVars.USERNAME <value>\` ` +
        "(add --secret for a secret). Unset variables ending in PASSWORD, SECRET, TOKEN or KEY are generated",
      `${seed}:4:10: warning: "#USERNAME#" is a fill-in marker from the original guide, not Stackfile syntax; dropstack reads it as \${USERNAME}`,
      `${seed}:6:7: warning: "#PASSWORD#" is a fill-in marker from the original guide, not Stackfile syntax; dropstack reads it as \${PASSWORD}`,
      "",
    ]);
  });

  test("accepts the seed with --var and names what deploy generates", async () => {
    const { code, out } = await cli("validate", seed, "--var", "USERNAME=alice");
    expect(code).toBe(0);
    expect(out).toBe(`${seed}: valid, 2 services; generated at deploy: PASSWORD\n`);
  });

  test("takes variables from a stack's stackVars", async () => {
    const { code, out } = await cli("validate", "stacks/datascience.yml", "--stack", "dev");
    expect(code).toBe(0);
    expect(out).toBe(
      "stacks/datascience.yml: valid, 2 services; generated at deploy: PASSWORD, MONGO_PASSWORD\n" +
        "data backups: off; nothing on the data volume (notebooks, databases) is backed up. Set dataBackups to daily or hourly\n" +
        "droplet backups: off (dropletBackups would image the droplet's own disk, not the data volume)\n",
    );
  });

  test("on a cluster stack, counts the tags every node carries, as up does", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
    const file = path.join(dir, "stack.yml");
    fs.writeFileSync(
      file,
      "a:\n  image: busybox:1.36\n  command: sleep infinity\n  tags: [dropstack]\n" +
        "b:\n  image: busybox:1.36\n  command: sleep infinity\n  tags: [cluster]\n",
    );
    const { code, out, err } = await cli("validate", file, "--stack", "cluster");
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toMatch(new RegExp(`^${file}: valid, 2 services\n`));
  });

  test("reports a build that cannot run and exits 1", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
    fs.writeFileSync(path.join(dir, "stack.yml"), "app:\n  build: ./app\n");
    const context = path.relative(process.cwd(), path.join(dir, "app"));
    expect(await cli("validate", path.join(dir, "stack.yml"))).toEqual({
      code: 1,
      out: "",
      err:
        `${path.join(dir, "stack.yml")}:2:3: error: service "app": build context ${context} is not a folder ` +
        "(build paths are relative to the Stackfile)\n",
    });
  });

  test("--stack without a file checks the stack's own Stackfile and shows up's warnings", async () => {
    const { code, out, err } = await cli("validate", "--stack", "prod");
    expect(code).toBe(0);
    expect(out).toBe(
      `${path.join("stacks", "datascience.yml")}: valid, 2 services; generated at deploy: PASSWORD, MONGO_PASSWORD\n` +
        // What each kind of backup protects, said plainly.
        "data backups: daily, encrypted by restic, to a Spaces bucket in nyc3 (kept on destroy), keeping 7 daily, 4 weekly and 6 monthly\n" +
        "  datascience: its folders, as files\n" +
        "  mongo: dumped by its dropstack.backup.dump command\n" +
        "  the HTTPS proxy's certificates: left out (Let's Encrypt issues them again)\n" +
        "droplet backups: off (dropletBackups would image the droplet's own disk, not the data volume)\n",
    );
    expect(err).toBe(
      "warning: dropstack:sshSourceCidrs: 203.0.113.0/24 is an example network reserved for documentation, " +
        "which no machine is in: SSH to the node, and with it the deploy, will time out. Replace it with the " +
        "networks you work from, such as your public address followed by /32\n",
    );
  });

  test("without FILE or --stack says what to pass, naming the stacks", async () => {
    expect(await cli("validate")).toEqual({
      code: 2,
      out: "",
      err:
        "dropstack: validate needs a Stackfile: dropstack validate FILE, or dropstack validate " +
        "--stack NAME for the stack's own (stacks with a file: cluster, dev, local, prod)\n",
    });
    expect((await cli("compose", "--swarm")).err).toBe(
      "dropstack: compose needs a Stackfile: dropstack compose FILE, or dropstack compose " +
        "--stack NAME for the stack's own (stacks with a file: cluster, dev, local, prod)\n",
    );
  });

  test("says so when the file does not exist", async () => {
    expect(await cli("validate", "nope.yml")).toEqual({
      code: 2,
      out: "",
      err: "dropstack: nope.yml: no such file\n",
    });
  });

  test("a folder as the file names the Stackfiles in it", async () => {
    expect(await cli("validate", "stacks")).toEqual({
      code: 2,
      out: "",
      err: `dropstack: stacks is a folder; name the Stackfile in it: ${path.join("stacks", "datascience.yml")}\n`,
    });
  });
});

describe("dropstack compose", () => {
  test("prints a compose file for the default stack", async () => {
    const { code, out } = await cli("compose", "stacks/datascience.yml");
    expect(code).toBe(0);
    const compose = YAML.parse(out);
    expect(Object.keys(compose.services)).toEqual(["datascience", "mongo"]);
    expect(compose.services.datascience.ports).toEqual(["80:8888/tcp"]);
    expect(compose.services.mongo.ports).toBeUndefined();
  });

  test("--output writes the file with build paths relative to it, and a .env to fill in", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
    const file = path.join(dir, "run", "docker-compose.yml");
    const { code, out, err } = await cli("compose", "stacks/datascience.yml", "--output", file);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toBe(
      `wrote ${file}\nwrote ${path.join(dir, "run", ".env")}: fill in MONGO_PASSWORD, PASSWORD\n`,
    );
    const context = YAML.parse(fs.readFileSync(file, "utf8")).services.datascience.build.context;
    expect(path.resolve(dir, "run", context)).toBe(path.resolve("images", "datascience"));
    expect(fs.readFileSync(path.join(dir, "run", ".env"), "utf8")).toBe(
      "# Values for the compose file made by `dropstack compose stacks/datascience.yml`; docker compose reads\n" +
        "# this file from its folder. Fill in each value (keep this file out of version control).\n" +
        "MONGO_PASSWORD=\nPASSWORD=\n",
    );
    expect(fs.statSync(path.join(dir, "run", ".env")).mode & 0o777).toBe(0o600);
  });

  testWithTool("docker-compose")(
    "docker-compose reads the --output file and its .env from their folder",
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
      const file = path.join(dir, "docker-compose.yml");
      await cli("compose", "stacks/datascience.yml", "--output", file);
      fs.writeFileSync(path.join(dir, ".env"), "PASSWORD=p1\nMONGO_PASSWORD=p2\n");
      const { status, output } = run("docker-compose", ["-f", file, "config"]);
      expect(status).toBe(0);
      const config = YAML.parse(output);
      expect(config.services.datascience.build.context).toBe(path.resolve("images", "datascience"));
      expect(config.services.datascience.environment.PASSWORD).toBe("p1");
    },
  );

  test("--output leaves an existing .env as it is and names what it lacks", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
    fs.writeFileSync(path.join(dir, ".env"), "PASSWORD=mine\n");
    const file = path.join(dir, "docker-compose.yml");
    const { code, err } = await cli("compose", "stacks/datascience.yml", "--output", file);
    expect(code).toBe(0);
    expect(err).toBe(
      `dropstack: ${path.join(dir, ".env")} exists and was left as it is; add MONGO_PASSWORD to it\n`,
    );
    expect(fs.readFileSync(path.join(dir, ".env"), "utf8")).toBe("PASSWORD=mine\n");
  });

  test("--output naming a folder is an error that says what to write", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
    expect(await cli("compose", "stacks/datascience.yml", "--output", dir)).toEqual({
      code: 2,
      out: "",
      err: `dropstack: --output ${dir}: is a folder; name the file to write, e.g. ${path.join(dir, "docker-compose.yml")}\n`,
    });
  });

  test("prints nothing to stdout and exits 1 for a bad Stackfile", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-")), "bad.yml");
    fs.writeFileSync(file, "web:\n  imgae: nginx\n");
    const { code, out, err } = await cli("compose", file);
    expect({ code, out }).toEqual({ code: 1, out: "" });
    expect(err).toContain(
      `${file}:2:3: error: unknown key "imgae" in service "web"; did you mean "image"?`,
    );
  });
});

test("validate reports every error of the file in one run, build problems too", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
  const file = path.join(dir, "stack.yml");
  fs.writeFileSync(file, "app:\n  build: ./app\n  imgae: x\nweb:\n  image: y\n  links: [nope]\n");
  const context = path.relative(process.cwd(), path.join(dir, "app"));
  expect(await cli("validate", file)).toEqual({
    code: 1,
    out: "",
    err:
      `${file}:3:3: error: unknown key "imgae" in service "app"; did you mean "image"?\n` +
      `${file}:6:11: error: "nope" is not a service in this Stackfile; services: app, web\n` +
      `${file}:2:3: error: service "app": build context ${context} is not a folder (build paths are relative to the Stackfile)\n`,
  });
});

describe("dropstack proxy", () => {
  test("prints the Caddyfile pulumi up gives the dev stack's proxy", async () => {
    const { code, out, err } = await cli("proxy", "--stack", "dev");
    expect(code).toBe(0);
    expect(out).toBe(
      renderCaddyfile({
        certificates: "acme-ip",
        upstreams: ["datascience-1:8888"],
        hsts: true,
      }),
    );
    expect(err).toBe(
      "# DROPSTACK_SITE, the site's address, is the node's IP address (the ip output)\n",
    );
  });

  test("says why the local stack has none, and exits 1", async () => {
    const { code, out, err } = await cli("proxy", "--stack", "local");
    expect({ code, out }).toEqual({ code: 1, out: "" });
    expect(err).toBe(
      'dropstack: stack "local" has no HTTPS proxy: on the local target, tls auto serves plain ' +
        "HTTP; set dropstack:tls internal for HTTPS with the stack's own CA\n",
    );
  });

  test("needs --stack", async () => {
    const { code, err } = await cli("proxy");
    expect(code).toBe(2);
    expect(err).toMatch(/^dropstack: proxy needs --stack NAME\n/);
  });
});

test("validate --stack reports what keeps the stack's HTTPS proxy from fronting the file", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
  const file = path.join(dir, "stack.yml");
  fs.writeFileSync(file, 'web:\n  image: nginx:1.27\n  ports:\n    - "80:80"\n    - "443:443"\n');
  expect(await cli("validate", file, "--stack", "dev")).toEqual({
    code: 1,
    out: "",
    err:
      `${file}: error: service "web" publishes 443:443, but the HTTPS proxy (dropstack:tls auto) ` +
      "takes ports 80 and 443; publish it on another port, or set dropstack:tls off\n",
  });
  // Without a stack there is no proxy to check against.
  expect((await cli("validate", file)).code).toBe(0);
});

test("validate --stack on a cluster reports what no Swarm service can do, at the key", async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-")), "stack.yml");
  fs.writeFileSync(file, "app:\n  image: nginx:1.27\n  privileged: true\n");
  const { code, err } = await cli("validate", file, "--stack", "cluster");
  expect(code).toBe(1);
  expect(err).toContain(
    `${file}:3:3: error: service "app": privileged cannot run on a Swarm cluster: a Swarm ` +
      "service, as dropstack creates it, has no such option. Remove it, or deploy this Stackfile on one node (dropstack:nodes 1)\n",
  );
  expect((await cli("validate", file, "--stack", "dev")).code).toBe(0);
});
