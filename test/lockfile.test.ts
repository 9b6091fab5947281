// What `npm ci` (every user's CI) checks of package-lock.json, without the network: it rejects a
// lockfile that misses a package npm would install, optional platform packages included
// ("Missing: @swc/core-darwin-arm64@1.16.22 from lock file"), or that no longer matches
// package.json. `.ci/run` runs the real `npm ci` too; this says which entry is missing, in a second.
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
const entries: Record<string, any> = lock.packages;

/** Where npm resolves `name` from the package installed at `from` ("" for the root). */
function resolve(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
    const at = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (entries[at] !== undefined) return at;
    if (dir === "") return undefined;
  }
}

describe("package-lock.json", () => {
  test("matches package.json's dependencies", () => {
    const root = entries[""];
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
  });

  test("lists every package npm ci would install, optional platform packages included", () => {
    const missing: string[] = [];
    for (const [at, entry] of Object.entries(entries)) {
      for (const kind of ["dependencies", "optionalDependencies", "peerDependencies"]) {
        for (const name of Object.keys(entry[kind] ?? {})) {
          const optionalPeer =
            kind === "peerDependencies" && entry.peerDependenciesMeta?.[name]?.optional;
          if (!optionalPeer && resolve(name, at) === undefined)
            missing.push(`${name} (a ${kind.replace(/ies$/, "y")} of ${at || "the project"})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
