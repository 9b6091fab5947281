import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const providers = Object.keys(pkg.dependencies).filter(
  (name) => name.startsWith("@pulumi/") && name !== "@pulumi/pulumi",
);

describe("the plugins pulumi up asks for", () => {
  // @pulumi/command 4.5.0, npm's "latest" for years, is a release published by mistake in 2022
  // (pulumi/pulumi-command#183): it declares no plugin version, so the engine asks for "v4.5.0",
  // a preview build with no source. Released packages name their plugin's version.
  test.each(providers)("%s names its plugin version, equal to its own", (name) => {
    const manifest = JSON.parse(
      fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8"),
    );
    expect(manifest.pulumi).toMatchObject({ resource: true, version: manifest.version });
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("the SDK and the npx launcher are the same Pulumi version", () => {
    expect(pkg.devDependencies.pulumi).toBe(pkg.dependencies["@pulumi/pulumi"]);
  });
});
