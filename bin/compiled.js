// The command line's TypeScript as JavaScript kept between runs. ts-node compiles each file as
// `ts-node/register` would (tsconfig.json's options: transpile-only, through SWC, an inline source
// map); the result is kept in ${DROPSTACK_CACHE:-~/.cache/dropstack}/cli/, one file per source
// file, and used while the source, tsconfig.json and the versions of ts-node, TypeScript and SWC
// are the same. Once every file is kept, none of the three is even loaded: they took most of
// `dropstack validate`'s start-up (see `npm run bench`). The Pulumi program is loaded by Pulumi's
// runtime through ts-node itself, and does not come here.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const os = require("os");
const path = require("path");

const ROOT = path.join(__dirname, "..");
const TSCONFIG = path.join(ROOT, "tsconfig.json");

const sha256 = (text) => crypto.createHash("sha256").update(text).digest("hex");

/** What the JavaScript of a file depends on besides the file itself. */
function fingerprint() {
  const versions = ["ts-node", "typescript", "@swc/core"].map((name) => {
    const file = require.resolve(`${name}/package.json`, { paths: [ROOT] });
    return `${name}@${JSON.parse(fs.readFileSync(file, "utf8")).version}`;
  });
  return sha256(
    [
      fs.readFileSync(path.join(__dirname, "compiled.js"), "utf8"),
      ...versions,
      fs.readFileSync(TSCONFIG, "utf8"),
    ].join("\n"),
  );
}

/** Loads the project's .ts files from kept JavaScript, compiling (and keeping) what is not kept. */
function register() {
  const cache = path.join(
    process.env.DROPSTACK_CACHE || path.join(os.homedir(), ".cache", "dropstack"),
    "cli",
  );
  const base = fingerprint();
  let service;
  const compile = (source, file) => {
    if (service === undefined) service = require("ts-node").create({ project: TSCONFIG });
    return service.compile(source, file);
  };
  // The inline source maps then give stack traces the TypeScript source's line numbers, as
  // ts-node's own source-map support did.
  process.setSourceMapsEnabled?.(true);
  // V8's compiled code too, of these files and of yaml's and ajv's (Node.js 22.1 and later).
  Module.enableCompileCache?.(path.join(cache, "v8"));
  Module._extensions[".ts"] = (module, file) => {
    const source = fs.readFileSync(file, "utf8");
    // The key ends the kept file: as a comment, it leaves the source map's lines as they are.
    const stamp = `\n// dropstack ${sha256(`${base}\n${file}\n${source}`)}\n`;
    const kept = path.join(cache, `${sha256(file).slice(0, 32)}.js`);
    let js;
    try {
      js = fs.readFileSync(kept, "utf8");
    } catch {
      js = undefined;
    }
    if (js === undefined || !js.endsWith(stamp)) {
      js = compile(source, file) + stamp;
      try {
        fs.mkdirSync(cache, { recursive: true });
        // Whole or not at all, when two commands compile the same file at once.
        const partial = `${kept}.${process.pid}`;
        fs.writeFileSync(partial, js);
        fs.renameSync(partial, kept);
      } catch {
        // A cache that cannot be written only means compiling again next time.
      }
    }
    module._compile(js, file);
  };
}

module.exports = { register };
