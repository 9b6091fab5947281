import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "./harness";

const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** The rows of the README's configuration table. */
function configTable(): Record<string, { type: string; default: string; meaning: string }> {
  const section = readme.slice(readme.indexOf("## Configuration"));
  const rows = section.split("\n").filter((l) => /^\| `[A-Za-z0-9]+` \|/.test(l));
  return Object.fromEntries(
    rows.map((row) => {
      const [key, type, def, meaning] = row
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
      return [key.replace(/`/g, ""), { type, default: def.replace(/`/g, ""), meaning }];
    }),
  );
}

describe("the README", () => {
  test("documents every config key of Pulumi.yaml with its type, default and description", () => {
    const table = configTable();
    expect(Object.keys(table)).toEqual(Object.keys(project.config));
    for (const [key, declared] of Object.entries<any>(project.config)) {
      const type =
        declared.type === undefined
          ? "map"
          : declared.type === "array"
            ? `array of ${declared.items.type}`
            : declared.type;
      const def =
        declared.default === undefined
          ? ""
          : typeof declared.default === "string"
            ? declared.default
            : JSON.stringify(declared.default);
      expect({ key, ...table[key] }).toEqual({
        key,
        type,
        default: def,
        meaning: declared.description,
      });
    }
  });

  test("names only npm scripts that exist", () => {
    const named = [...readme.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const script of named)
      expect({ script, exists: script in pkg.scripts }).toEqual({ script, exists: true });
  });

  test("gives the three commands a newcomer needs", () => {
    expect(readme).toContain("npm install");
    expect(readme).toContain("npx pulumi up");
    expect(readme).toContain("npm test");
    expect(pkg.devDependencies.pulumi).toBeDefined();
    expect(pkg.engines.node).toBe(">=22");
  });

  test("says in the Quickstart how to get the CLI from registries, and to commit the salt", () => {
    const quickstart = readme.slice(readme.indexOf("## Quickstart"), readme.indexOf("### Stacks"));
    expect(quickstart).toContain(
      'export PATH="$(scripts/engine/build.sh | awk \'$1 == "cli" { print $3 }\'):$PATH"',
    );
    expect(quickstart).toContain(
      "`npx pulumi stack select --create dev` writes an `encryptionsalt:` line into `Pulumi.dev.yaml`",
    );
    expect(quickstart).toContain("Commit it with the file: it is not a secret");
  });

  test("names only dropstack commands the command line has", async () => {
    const { main } = await import("../cli/main");
    const named = [...new Set([...readme.matchAll(/npx dropstack ([a-z-]+)/g)].map((m) => m[1]))];
    expect(named.sort()).toEqual([
      "backups",
      "cloud-init",
      "compose",
      "proxy",
      "restore",
      "validate",
    ]);
    for (const command of named) {
      let said = "";
      const sink = { write: (text: string) => (said += text) } as unknown as NodeJS.WritableStream;
      const code = await main([command, "--no-such-option"], sink, sink);
      // A known command rejects the option; an unknown one would say so instead.
      expect({ command, code, said }).toEqual({
        command,
        code: 2,
        said: expect.stringMatching(
          new RegExp(`^dropstack ${command}: unknown option "--no-such-option"; the `),
        ),
      });
    }
  });
});
