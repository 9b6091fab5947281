#!/usr/bin/env node
// `npx dropstack …`: the project's command line. TypeScript is loaded by ts-node with the options
// in tsconfig.json (transpile-only, through SWC), as Pulumi's runtime loads the program.
"use strict";
const path = require("path");
require("ts-node").register({ project: path.join(__dirname, "..", "tsconfig.json") });
const problem = require("../node-version").nodeVersionProblem();
if (problem !== undefined) {
  process.stderr.write(`dropstack: ${problem}\n`);
  process.exit(2);
}
require("../cli/main")
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`dropstack: ${err && err.message ? err.message : err}\n`);
      process.exit(2);
    },
  );
