import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import * as YAML from "yaml";
import { ROOT } from "./harness";
import { run } from "./tools";

const { COMPILER_OPTIONS } = require("../bin/register.js") as {
  COMPILER_OPTIONS: Record<string, unknown>;
};

describe("bin/register.js, the cached transpiler behind `pulumi` and `dropstack`", () => {
  test("emits with the options tsconfig.json sets", () => {
    const { config } = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
    for (const key of ["module", "target", "esModuleInterop"]) {
      expect({ key, value: String(COMPILER_OPTIONS[key]).toLowerCase() }).toEqual({
        key,
        value: String(config.compilerOptions[key]).toLowerCase(),
      });
    }
  });

  test("loads a TypeScript file, and on the next run neither transpiles nor loads the compiler", () => {
    const probe =
      `require(${JSON.stringify(path.join(ROOT, "naming.ts"))});` +
      "const loaded = Object.keys(require.cache).some((k) => /typescript[\\\\/]lib[\\\\/]typescript\\.js$/.test(k));" +
      "console.log(require(" +
      JSON.stringify(path.join(ROOT, "naming.ts")) +
      ").resourcePrefix('p', 'S t'), loaded);";
    const first = run(process.execPath, ["-r", path.join(ROOT, "bin", "register.js"), "-e", probe]);
    expect(first.output).toMatch(/^p-s-t (true|false)\n$/);
    const second = run(process.execPath, [
      "-r",
      path.join(ROOT, "bin", "register.js"),
      "-e",
      probe,
    ]);
    expect(second).toEqual({ status: 0, output: "p-s-t false\n" });
  });

  test("keeps line numbers of the TypeScript source in stack traces", () => {
    const file = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-register-")),
      "throws.ts",
    );
    fs.writeFileSync(
      file,
      "const x: number = 1;\n\nexport function boom(): never {\n  throw new Error(`boom ${x}`);\n}\n",
    );
    try {
      const result = run(process.execPath, [
        "-r",
        path.join(ROOT, "bin", "register.js"),
        "-e",
        `require(${JSON.stringify(file)}).boom()`,
      ]);
      expect(result.output).toContain(`${file}:4:`);
    } finally {
      fs.rmSync(file);
    }
  });
});

describe("the program's entry, Pulumi.yaml's main", () => {
  test("loads index.ts without the runtime's TypeScript support and exports the program", () => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    // The runtime's own ts-node is off, so main must be JavaScript that brings the transpiler.
    expect(project.runtime.options.typescript).toBe(false);
    const main = path.join(ROOT, project.main);
    const result = run(process.execPath, [
      "-e",
      `const program = require(${JSON.stringify(main)}); console.log(typeof program, program.constructor.name);`,
    ]);
    // The nodejs runtime calls an exported function and awaits it for the stack's outputs.
    expect(result).toEqual({ status: 0, output: "function AsyncFunction\n" });
  });
});
