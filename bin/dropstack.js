#!/usr/bin/env node
// `npx dropstack …`: the project's command line. Its TypeScript is compiled by ts-node with the
// options in tsconfig.json (transpile-only, through SWC), as Pulumi's runtime loads the program,
// and kept as JavaScript between runs (bin/compiled.js).
"use strict";
require("./compiled").register();
const problem = require("../runtime/node-version").nodeVersionProblem();
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
