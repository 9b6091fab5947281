import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contextHash } from "../components";

/** A build context folder holding the given files. */
function context(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-context-"));
  for (const [file, text] of Object.entries(files)) write(dir, file, text);
  return dir;
}

function write(dir: string, file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
}

describe("the build context's content hash, which decides when an image is rebuilt", () => {
  test("changes when a file the build sends changes, or a file is added", () => {
    const dir = context({ Dockerfile: "FROM alpine\n", "app.py": "print(1)\n" });
    const before = contextHash(dir);
    write(dir, "app.py", "print(2)\n");
    const edited = contextHash(dir);
    write(dir, "lib/util.py", "x = 1\n");
    expect(new Set([before, edited, contextHash(dir)]).size).toBe(3);
  });

  test("ignores what .dockerignore leaves out, as Docker does", () => {
    const dir = context({
      Dockerfile: "FROM alpine\n",
      ".dockerignore": "# data stays on the laptop\ndata\n*.log\n**/__pycache__\n",
      "app.py": "print(1)\n",
      "data/big.csv": "1,2,3\n",
    });
    const before = contextHash(dir);
    write(dir, "data/big.csv", "4,5,6\n");
    write(dir, "data/more/other.csv", "7\n");
    write(dir, "run.log", "started\n");
    write(dir, "lib/__pycache__/util.pyc", "bytes");
    expect(contextHash(dir)).toBe(before);
    write(dir, "app.py", "print(2)\n");
    expect(contextHash(dir)).not.toBe(before);
  });

  test("honours exceptions inside an ignored folder", () => {
    const dir = context({
      Dockerfile: "FROM alpine\n",
      ".dockerignore": "data\n!data/schema.sql\n",
      "data/schema.sql": "create table t (x int);\n",
      "data/dump.sql": "insert into t values (1);\n",
    });
    const before = contextHash(dir);
    write(dir, "data/dump.sql", "insert into t values (2);\n");
    expect(contextHash(dir)).toBe(before);
    write(dir, "data/schema.sql", "create table t (x bigint);\n");
    expect(contextHash(dir)).not.toBe(before);
  });

  test("counts the Dockerfile and .dockerignore even when .dockerignore lists them", () => {
    const dir = context({
      "build/app.Dockerfile": "FROM alpine\n",
      ".dockerignore": "build\n.dockerignore\n",
    });
    const before = contextHash(dir, "build/app.Dockerfile");
    write(dir, "build/app.Dockerfile", "FROM debian\n");
    const dockerfileEdited = contextHash(dir, "build/app.Dockerfile");
    write(dir, ".dockerignore", "build\n.dockerignore\n*.tmp\n");
    expect(new Set([before, dockerfileEdited, contextHash(dir, "build/app.Dockerfile")]).size).toBe(
      3,
    );
  });

  test("does not read an ignored folder that no exception reaches into", () => {
    const dir = context({
      Dockerfile: "FROM alpine\n",
      ".dockerignore": "node_modules\n",
      "node_modules/dep/index.js": "module.exports = 1;\n",
    });
    // The real module, not an import binding, so the spy sees contextHash's calls.
    const readdir = jest.spyOn(require("fs") as typeof fs, "readdirSync");
    try {
      contextHash(dir);
      const read = readdir.mock.calls.map(([folder]) => path.relative(dir, String(folder)));
      expect(read).toEqual([""]);
    } finally {
      readdir.mockRestore();
    }
  });
});
