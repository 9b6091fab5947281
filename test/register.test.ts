import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
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
