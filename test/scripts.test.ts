// Scripts run as the README writes them (`scripts/engine/build.sh`, not `bash scripts/…`): a clone
// gets the run bit git stores, so the mode that counts is the one in git's index.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** Every tracked file with its mode as git stores it (100644, 100755, 120000 for a link). */
function trackedModes(): Map<string, string> {
  const listing = execFileSync("git", ["ls-files", "--stage", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const modes = new Map<string, string>();
  for (const entry of listing.split("\0").filter((e) => e !== "")) {
    const tab = entry.indexOf("\t");
    modes.set(entry.slice(tab + 1), entry.slice(0, entry.indexOf(" ")));
  }
  return modes;
}

function hasShebang(file: string): boolean {
  const full = path.join(ROOT, file);
  if (!fs.statSync(full, { throwIfNoEntry: false })?.isFile()) return false;
  const fd = fs.openSync(full, "r");
  try {
    const start = Buffer.alloc(2);
    fs.readSync(fd, start, 0, 2, 0);
    return start.toString() === "#!";
  } finally {
    fs.closeSync(fd);
  }
}

/** A command's first word that names one of ours to run: under scripts/, .ci/ or bin/, or a .sh. */
function scriptRun(command: string): string | undefined {
  const word = command.trim().split(/\s+/)[0]?.replace(/^\.\//, "") ?? "";
  return /^(scripts|\.ci|bin)\/[\w./-]*[\w-]$/.test(word) || /^[\w./-]+\.sh$/.test(word)
    ? word
    : undefined;
}

/** The scripts the README runs: each code span's and each shell block line's first word. */
function readmeScripts(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => m[1].split("\n"));
  const prose = readme.replace(/^```[\s\S]*?^```/gm, "");
  const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return [...new Set([...blocks, ...spans].map(scriptRun).filter((s) => s !== undefined))];
}

/** The scripts package.json's scripts run: the first word of each command in them. */
function packageScripts(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const commands = Object.values<string>(pkg.scripts).flatMap((s) => s.split(/&&|\|\||[;|]/));
  const bins = Object.values<string>(pkg.bin ?? {});
  return [...new Set([...commands.map(scriptRun), ...bins].filter((s) => s !== undefined))];
}

describe("scripts", () => {
  const modes = trackedModes();

  test("every tracked file that starts with #! is committed executable (mode 100755)", () => {
    const withShebang = [...modes.keys()].filter(hasShebang).sort();
    expect(withShebang.length).toBeGreaterThan(0);
    const notExecutable = withShebang.filter((f) => modes.get(f) !== "100755");
    expect(notExecutable).toEqual([]);
  });

  test("every script the README or package.json runs exists, executable in git and on disk", () => {
    const named = [...readmeScripts(), ...packageScripts()];
    expect(named).toEqual(expect.arrayContaining([".ci/run", "scripts/engine/build.sh"]));
    const problems = named.flatMap((script) => {
      const full = path.join(ROOT, script);
      if (!fs.existsSync(full)) return [`${script}: no such file`];
      const executable = (() => {
        try {
          fs.accessSync(full, fs.constants.X_OK);
          return true;
        } catch {
          return false;
        }
      })();
      return [
        ...(modes.get(script) === "100755" ? [] : [`${script}: mode ${modes.get(script)} in git`]),
        ...(executable ? [] : [`${script}: not executable here`]),
      ];
    });
    expect(problems).toEqual([]);
  });
});
