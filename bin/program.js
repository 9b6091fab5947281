// The Pulumi program's entry (Pulumi.yaml `main`): the TypeScript program in index.ts, loaded
// through the cached transpiler in register.js instead of the runtime's own ts-node.
"use strict";
require("./register");
module.exports = require("../index");
