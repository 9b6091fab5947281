import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import * as YAML from "yaml";
import { main } from "../cli/main";
import { run, testWithTool } from "./tools";

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: "", err: "" };
  out.on("data", (c) => (chunks.out += c));
  err.on("data", (c) => (chunks.err += c));
  const code = await main(argv, out as any, err as any);
  return { code, ...chunks };
}

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

  test("names the stacks that have a file when the asked-for one has none", async () => {
    const { code, err } = await cli("cloud-init", "--stack", "nope");
    expect(code).toBe(2);
    expect(err).toMatch(
      /^dropstack: no Pulumi\.nope\.yaml here; stacks with a file: (\w+, )*dev(, \w+)*\n$/,
    );
  });

  test("rejects an unknown option", async () => {
    const { code, err } = await cli("cloud-init", "--stak", "dev");
    expect(code).toBe(2);
    expect(err).toContain("Unknown option '--stak'");
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
      "stacks/datascience.yml: valid, 2 services; generated at deploy: PASSWORD, MONGO_PASSWORD\n",
    );
  });

  test("reports a build that cannot run and exits 1", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cli-"));
    fs.writeFileSync(path.join(dir, "stack.yml"), "app:\n  build: ./app\n");
    const context = path.relative(process.cwd(), path.join(dir, "app"));
    expect(await cli("validate", path.join(dir, "stack.yml"))).toEqual({
      code: 1,
      out: "",
      err:
        `error: service "app": build context ${context} is not a folder ` +
        "(build paths are relative to the Stackfile)\n",
    });
  });

  test("says so when the file does not exist", async () => {
    expect(await cli("validate", "nope.yml")).toEqual({
      code: 2,
      out: "",
      err: "dropstack: nope.yml: no such file\n",
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
