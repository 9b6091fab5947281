import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "./harness";
import { spawnSync } from "child_process";
import { run } from "./tools";

// Pulumi's Node.js runtime (cmd/run/run.js in @pulumi/pulumi) registers the project's ts-node
// with `project: tsconfig.json` when Pulumi.yaml leaves `typescript` on; ts-node then takes its
// own options from tsconfig.json's "ts-node" section.
const RUNTIME_REGISTER =
  `require(${JSON.stringify(require.resolve("ts-node"))}).register({ project: ${JSON.stringify(path.join(ROOT, "tsconfig.json"))}, ` +
  "compiler: 'typescript', compilerOptions: {} });";

describe("how the program is loaded", () => {
  test("Pulumi's runtime loads index.ts itself, through ts-node", () => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    expect(project.runtime.options.typescript).toBe(true);
    expect(project.main).toBeUndefined();
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.main).toBe("index.ts");
  });

  test("ts-node transpiles only, through SWC, and the program is the function Pulumi awaits", () => {
    const probe =
      RUNTIME_REGISTER +
      `const program = require(${JSON.stringify(path.join(ROOT, "index.ts"))});` +
      "const loaded = (name) => Object.keys(require.cache).some((k) => k.includes(name));" +
      "console.log(typeof program, program.constructor.name, loaded('@swc/core'), " +
      "loaded('typescript/lib/typescript.js'));";
    // The nodejs runtime calls an exported function and awaits it for the stack's outputs; the
    // TypeScript compiler is loaded only for its config reader, never to check types.
    expect(run(process.execPath, ["-e", probe]).output).toMatch(
      /^function AsyncFunction true (true|false)\n$/,
    );
  });

  test("stack traces keep the TypeScript source's line numbers", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-loader-"));
    const file = path.join(dir, "throws.ts");
    fs.writeFileSync(
      file,
      "const x: number = 1;\n\nexport function boom(): never {\n  throw new Error(`boom ${x}`);\n}\n",
    );
    try {
      const result = run(process.execPath, [
        "-e",
        RUNTIME_REGISTER + `require(${JSON.stringify(file)}).boom()`,
      ]);
      expect(result.output).toContain(`${file}:4:`);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  test("npx dropstack starts from any working folder", () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, "bin", "dropstack.js"), "--help"], {
      cwd: os.tmpdir(),
      encoding: "utf8",
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("usage: dropstack");
  });
});

/** Runs node with `args`; prints, after what the script prints, the packages it loaded. */
function loadedBy(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const probe =
    "process.on('exit', () => process.stdout.write('\\nloaded: ' + JSON.stringify(" +
    "[...new Set(Object.keys(require.cache).map((k) => /node_modules[\\\\/]((@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(k)?.[1]).filter(Boolean))])));";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-probe-"));
  const file = path.join(dir, "probe.js");
  fs.writeFileSync(file, probe);
  try {
    const result = spawnSync(process.execPath, ["-r", file, ...args], { encoding: "utf8", env });
    const [output, loaded] = result.stdout.split("\nloaded: ");
    return { status: result.status, output, stderr: result.stderr, loaded: JSON.parse(loaded) };
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

describe("what the command line loads", () => {
  const COMPILERS = ["ts-node", "typescript", "@swc/core"];

  test("the pure core loads no Pulumi package: types only", () => {
    const modules = [
      "stackfile",
      "config",
      "config/warnings",
      "proxy/plan",
      "cloud-init",
      "config/naming",
      "cli/main",
      "cli/stack-config",
    ];
    const { loaded } = loadedBy([
      "-e",
      RUNTIME_REGISTER +
        modules.map((m) => `require(${JSON.stringify(path.join(ROOT, m))});`).join(""),
    ]);
    expect(loaded.filter((p: string) => p.startsWith("@pulumi/"))).toEqual([]);
  });

  test("npx dropstack keeps its JavaScript: once kept, no compiler and no Pulumi SDK loads", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cache-"));
    const env = { ...process.env, DROPSTACK_CACHE: cache };
    const args = [
      path.join(ROOT, "bin", "dropstack.js"),
      "validate",
      path.join(ROOT, "stacks", "datascience.yml"),
    ];
    try {
      const first = loadedBy(args, env);
      const second = loadedBy(args, env);
      expect(first.loaded).toEqual(expect.arrayContaining(["ts-node"]));
      expect({ status: second.status, output: second.output, stderr: second.stderr }).toEqual({
        status: first.status,
        output: first.output,
        stderr: first.stderr,
      });
      expect(second.output).toContain("valid, 2 services");
      expect(
        second.loaded.filter((p: string) => COMPILERS.includes(p) || p.startsWith("@pulumi/")),
      ).toEqual([]);
    } finally {
      fs.rmSync(cache, { recursive: true });
    }
  });

  test("a changed source file is compiled again; stack traces keep its line numbers", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cache-"));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-loader-"));
    const file = path.join(dir, "says.ts");
    const load =
      `require(${JSON.stringify(path.join(ROOT, "bin", "compiled.js"))}).register();` +
      `const m = require(${JSON.stringify(file)}); console.log(m.says); m.boom();`;
    const env = { ...process.env, DROPSTACK_CACHE: cache };
    try {
      fs.writeFileSync(
        file,
        'export const says: string = "one";\nexport function boom(): never {\n  throw new Error("boom");\n}\n',
      );
      const first = loadedBy(["-e", load], env);
      expect(first.output).toMatch(/^one\n/);
      expect(first.stderr).toContain(`${file}:3:`);
      fs.writeFileSync(
        file,
        'export const says: string = "two";\n\nexport function boom(): never {\n  throw new Error("boom");\n}\n',
      );
      const second = loadedBy(["-e", load], env);
      expect(second.output).toMatch(/^two\n/);
      expect(second.stderr).toContain(`${file}:4:`);
      const third = loadedBy(["-e", load], env);
      expect(third.output).toMatch(/^two\n/);
      expect(third.stderr).toContain(`${file}:4:`);
      expect(third.loaded.filter((p: string) => COMPILERS.includes(p))).toEqual([]);
    } finally {
      fs.rmSync(cache, { recursive: true });
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe("the stacks of the SDK's promises", () => {
  // debuggablePromise keeps, on every promise the SDK makes, the stack it was made at; the text is
  // read only when PULUMI_DEBUG_PROMISE_LEAKS is set. Loading the program leaves it unformatted.
  let dir: string;
  let probe: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-stacks-"));
    const file = path.join(dir, "throws.ts");
    fs.writeFileSync(
      file,
      "const x: number = 1;\n\nexport function boom(): never {\n  throw new Error(`boom ${x}`);\n}\n",
    );
    probe =
      RUNTIME_REGISTER +
      `require(${JSON.stringify(path.join(ROOT, "index.ts"))});` +
      "const { debuggablePromise } = require('@pulumi/pulumi/runtime/debuggable');" +
      "const p = Promise.resolve(); debuggablePromise(p, 'probe'); console.log(p._debugStackTrace);" +
      `try { require(${JSON.stringify(file)}).boom(); } catch (e) { console.log(e.stack); }`;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true }));

  test("are not formatted, and every other stack is, through source maps", () => {
    const env = { ...process.env };
    delete env.PULUMI_DEBUG_PROMISE_LEAKS;
    const result = run(process.execPath, ["-e", probe], undefined, env);
    expect(result.output).toMatch(/^\(not kept: set PULUMI_DEBUG_PROMISE_LEAKS/);
    expect(result.output).toContain(`${path.join(dir, "throws.ts")}:4:`);
  });

  test("are kept with PULUMI_DEBUG_PROMISE_LEAKS set", () => {
    const env = { ...process.env, PULUMI_DEBUG_PROMISE_LEAKS: "1" };
    const result = run(process.execPath, ["-e", probe], undefined, env);
    expect(result.output).toMatch(/^Error\n {4}at debuggablePromise /);
    expect(result.output).toContain(`${path.join(dir, "throws.ts")}:4:`);
  });
});
