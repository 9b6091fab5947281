import { nodeVersionProblem } from "../node-version";

describe("the Node.js version check of the program and the command line", () => {
  test("an older Node.js gets the minimum and how to get it", () => {
    expect(nodeVersionProblem("20.20.2")).toBe(
      "dropstack needs Node.js 22 or newer (the Pulumi SDK's minimum), and this is 20.20.2. " +
        "Install it with a version manager (`nvm install 22`, `fnm install 22`) or from https://nodejs.org, " +
        "or run one command with it through npm: `npx -y node@22 <command>`. Then run `npm install` again.",
    );
  });

  test("Node.js 22 and newer pass", () => {
    expect(nodeVersionProblem("22.0.0")).toBeUndefined();
    expect(nodeVersionProblem("24.11.1")).toBeUndefined();
  });
});
