#!/usr/bin/env node
// `npx dropstack …`: the project's command line, TypeScript loaded through register.js.
"use strict";
require("./register");
require("../cli/main")
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`dropstack: ${err && err.message ? err.message : err}\n`);
      process.exit(2);
    },
  );
