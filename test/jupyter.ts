// Finds the python of the Jupyter server the notebook image runs (jupyter_server 2.x, with
// ipykernel), installed by scripts/jupyter/build.sh into the cache. Debian's python3-jupyter-server
// is 1.23, which takes its password and token from other settings than the image's server does.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { testIf } from "./tools";

const VERSION = /^JUPYTER_SERVER_VERSION=(\S+)$/m.exec(
  fs.readFileSync(path.join(__dirname, "..", "scripts", "jupyter", "build.sh"), "utf8"),
)![1];

/** DROPSTACK_JUPYTER_PYTHON if set, else the cached environment's python, else undefined. */
export function jupyterPython(): string | undefined {
  if (process.env.DROPSTACK_JUPYTER_PYTHON) return process.env.DROPSTACK_JUPYTER_PYTHON;
  const cache = process.env.DROPSTACK_CACHE ?? path.join(os.homedir(), ".cache", "dropstack");
  const built = path.join(cache, "jupyter-server", VERSION);
  return fs.existsSync(path.join(built, ".complete"))
    ? path.join(built, "bin", "python")
    : undefined;
}

/** `test` when it is there; otherwise a skip, or under CI=true a failure, saying how to get it. */
export function testWithJupyter(): jest.It {
  return testIf(
    jupyterPython() !== undefined,
    `jupyter_server ${VERSION} is not installed: run scripts/jupyter/build.sh (.ci/run does)`,
  );
}
