// Loads the project's TypeScript sources without type checking (`npm run typecheck` does that)
// and keeps each file's JavaScript in node_modules/.cache, keyed by its content: after the first
// run neither ts-node nor the TypeScript compiler is even loaded, which takes about half a second
// off every `pulumi` and `dropstack` command (see `npm run bench`).
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const ROOT = path.join(__dirname, "..");
const CACHE = path.join(ROOT, "node_modules", ".cache", "dropstack-ts");
// The options tsconfig.json sets that change the emitted JavaScript (a test keeps them equal).
const COMPILER_OPTIONS = {
  module: "commonjs",
  target: "es2022",
  esModuleInterop: true,
  inlineSourceMap: true,
  inlineSources: false,
};
const TS_VERSION = JSON.parse(
  fs.readFileSync(require.resolve("typescript/package.json"), "utf8"),
).version;

let typescript;
function transpile(source, fileName) {
  typescript ??= require("typescript");
  const options = typescript.convertCompilerOptionsFromJson(COMPILER_OPTIONS, ROOT).options;
  return typescript.transpileModule(source, { compilerOptions: options, fileName }).outputText;
}

process.setSourceMapsEnabled(true);
require.extensions[".ts"] = (module, fileName) => {
  const source = fs.readFileSync(fileName, "utf8");
  const key = crypto
    .createHash("sha256")
    .update(`${TS_VERSION}\0${JSON.stringify(COMPILER_OPTIONS)}\0${fileName}\0${source}`)
    .digest("hex");
  const cached = path.join(CACHE, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, "utf8");
  } catch {
    output = transpile(source, fileName);
    try {
      fs.mkdirSync(CACHE, { recursive: true });
      // Write then rename, so a concurrent run never reads half a file.
      const temporary = `${cached}.${process.pid}`;
      fs.writeFileSync(temporary, output);
      fs.renameSync(temporary, cached);
    } catch {
      // A read-only checkout still works, only without the cache.
    }
  }
  module._compile(output, fileName);
};

module.exports = { COMPILER_OPTIONS, CACHE };
