import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { nodeVersionProblem } from "../runtime/node-version";
import { ROOT } from "./harness";

describe("the Node.js version check of the program and the command line", () => {
  test("an older Node.js gets the minimum and how to get it", () => {
    expect(nodeVersionProblem("20.20.2")).toBe(
      "Node.js 22 or newer is needed (the Pulumi SDK's minimum), and this is 20.20.2. " +
        "Install it with a version manager (`nvm install 22`, `fnm install 22`) or from https://nodejs.org, " +
        "or run one command with it through npm: `npx -y node@22 <command>`. Then run `npm install` again.",
    );
  });

  test("Node.js 22 and newer pass", () => {
    expect(nodeVersionProblem("22.0.0")).toBeUndefined();
    expect(nodeVersionProblem("24.11.1")).toBeUndefined();
  });

  test("the command line says so once, after its name, and exits 2", () => {
    // This Node.js, told it is 20.20.2 before bin/dropstack.js runs.
    const preload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-node-")), "old.js");
    fs.writeFileSync(
      preload,
      'Object.defineProperty(process.versions, "node", { value: "20.20.2" });\n',
    );
    const r = spawnSync(
      process.execPath,
      ["--require", preload, path.join(ROOT, "bin", "dropstack.js"), "help"],
      { encoding: "utf8" },
    );
    expect({ status: r.status, out: r.stdout, err: r.stderr }).toEqual({
      status: 2,
      out: "",
      err:
        "dropstack: Node.js 22 or newer is needed (the Pulumi SDK's minimum), and this is 20.20.2. " +
        "Install it with a version manager (`nvm install 22`, `fnm install 22`) or from https://nodejs.org, " +
        "or run one command with it through npm: `npx -y node@22 <command>`. Then run `npm install` again.\n",
    });
  });
});
