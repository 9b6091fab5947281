import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkBuilds, formatDiagnostic, parseStackfile } from "../stackfile";
import { ROOT } from "./harness";

/** The build problems of a Stackfile written, with the given files, into a new folder. */
function problemsOf(files: Record<string, string>): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-build-"));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  const { spec } = parseStackfile(files["stack.yml"], "stack.yml");
  return checkBuilds(spec, dir, dir).map(formatDiagnostic);
}

describe("checking a Stackfile's builds before deploying", () => {
  test("reports a context that is not a folder and a Dockerfile that is not there", () => {
    expect(
      problemsOf({
        "stack.yml":
          "web:\n  build: ./missing\n" +
          "api:\n  build:\n    context: ./api\n    dockerfile: Dockerfile.prod\n" +
          "file:\n  build: ./stack.yml\n",
        "api/Dockerfile": "FROM alpine\n",
      }),
    ).toEqual([
      'stack.yml:2:3: service "web": build context missing is not a folder (build paths are relative to the Stackfile)',
      'stack.yml:4:3: service "api": there is no Dockerfile at api/Dockerfile.prod (build.dockerfile is relative to the context)',
      'stack.yml:8:3: service "file": build context stack.yml is not a folder (build paths are relative to the Stackfile)',
    ]);
  });

  test("accepts a context with its Dockerfile, named or default, and services without build", () => {
    expect(
      problemsOf({
        "stack.yml":
          "app:\n  build: ./app\n" +
          "api:\n  build:\n    context: ./api\n    dockerfile: Dockerfile.prod\n" +
          "db:\n  image: mongo:8.0\n",
        "app/Dockerfile": "FROM alpine\n",
        "api/Dockerfile.prod": "FROM alpine\n",
      }),
    ).toEqual([]);
  });

  test("reports what the classic builder the node uses refuses, at its Dockerfile line", () => {
    const dockerfile = [
      "# syntax=docker/dockerfile:1",
      "FROM python:3.12",
      "COPY --chown=1000:100 --chmod=0755 run.sh /usr/local/bin/",
      "RUN --mount=type=cache,target=/root/.cache pip install \\",
      "    --no-cache-dir requests",
      "ADD --checksum=sha256:abc https://example.org/x.tgz /x.tgz",
      "RUN <<EOF",
      "echo hi",
      "EOF",
      "COPY --chown=1000:100 app/ /app/",
      "RUN echo '--mount' <<not a heredoc",
    ].join("\n");
    const why =
      "which needs BuildKit, and images are built with Docker's classic builder (the Docker provider's BuildKit builds run on this machine's Docker, not the node's)";
    expect(
      problemsOf({ "stack.yml": "app:\n  build: ./app\n", "app/Dockerfile": dockerfile }),
    ).toEqual([
      `stack.yml:2:3: service "app": app/Dockerfile:3 uses COPY --chmod, ${why}; copy the file, then set its mode with RUN chmod`,
      `stack.yml:2:3: service "app": app/Dockerfile:4 uses RUN --mount, ${why}; copy what the command needs into the image first`,
      `stack.yml:2:3: service "app": app/Dockerfile:6 uses ADD --checksum, ${why}; download with RUN curl and check the sum with sha256sum`,
      `stack.yml:2:3: service "app": app/Dockerfile:7 uses a heredoc (RUN <<EOF), ${why}; write the commands on RUN lines, or copy a script file and run it`,
    ]);
  });

  test("passes the default stack", () => {
    const file = path.join(ROOT, "stacks", "datascience.yml");
    const { spec } = parseStackfile(fs.readFileSync(file, "utf8"), file);
    expect(checkBuilds(spec, path.dirname(file), ROOT)).toEqual([]);
  });
});
