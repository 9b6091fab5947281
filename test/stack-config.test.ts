import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfigValues } from "../cli/stack-config";
import { ROOT } from "./harness";

/** A project folder holding this project's Pulumi.yaml (or `projectYaml`) and the given stacks. */
function project(stacks: Record<string, string>, projectYaml?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-project-"));
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    projectYaml ?? fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"),
  );
  for (const [stack, text] of Object.entries(stacks))
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  return dir;
}

describe("reading a stack's config as the Pulumi engine hands it over", () => {
  test("a stack file that sets nothing gets every default Pulumi.yaml declares", () => {
    const { values } = readStackConfigValues(project({ bare: "config: {}\n" }), "bare");
    expect(values).toMatchObject({
      "dropstack:region": "nyc3",
      "dropstack:volumeSize": "10",
      "dropstack:retainDataOnDestroy": "false",
      "dropstack:sshSourceCidrs": '["0.0.0.0/0","::/0"]',
      "dropstack:stackVars": "{}",
    });
  });

  test("the stack's own values win over the project's defaults", () => {
    const dir = project({ mine: "config:\n  dropstack:region: ams3\n  dropstack:ipv6: true\n" });
    const { values } = readStackConfigValues(dir, "mine");
    expect(values["dropstack:region"]).toBe("ams3");
    expect(values["dropstack:ipv6"]).toBe("true");
  });

  test("a project key declared without a default must be set, in the engine's words", () => {
    const projectYaml =
      "name: demo\nruntime: nodejs\nconfig:\n" +
      "  zone:\n    type: string\n  owner:\n    type: string\n  tier:\n    type: string\n" +
      "  size:\n    type: string\n    default: small\n  aws:region:\n    value: eu-west-1\n";
    const dir = project({ one: "config:\n  demo:zone: a\n  demo:tier: b\n", two: "" }, projectYaml);
    expect(() => readStackConfigValues(dir, "one")).toThrow(
      "Stack 'one' is missing configuration value 'owner'",
    );
    expect(() => readStackConfigValues(dir, "two")).toThrow(
      "Stack 'two' is missing configuration values 'owner', 'tier' and 'zone'",
    );
  });

  test("a provider's key is given its fixed value from Pulumi.yaml", () => {
    const projectYaml =
      "name: demo\nruntime: nodejs\nconfig:\n  aws:region:\n    value: eu-west-1\n";
    const { values } = readStackConfigValues(project({ s: "" }, projectYaml), "s");
    expect(values).toEqual({ "aws:region": "eu-west-1" });
  });
});

test("a YAML error in a stack's file names the file, line and column", () => {
  const dir = project({ broken: "config:\n  dropstack:size: [s-1vcpu\n" });
  expect(() => readStackConfigValues(dir, "broken")).toThrow(
    `${path.join(dir, "Pulumi.broken.yaml")}:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
  );
});
