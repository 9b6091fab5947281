import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "./harness";
import { jupyterPython, testWithJupyter } from "./jupyter";
import { run, testWithTool } from "./tools";

const IMAGE_DIR = path.join(ROOT, "images", "datascience");
const HOOK = path.join(IMAGE_DIR, "dropstack-password.sh");
// Debian's python3 has jupyter_server (python3-jupyter-server); a pyenv or conda python
// earlier on PATH may not.
const DEBIAN_PYTHON = "/usr/bin/python3";

/** Sources the start hook as start.sh does, with Debian's python3 first on PATH. */
function runHook(password: string | undefined, python3 = `exec ${DEBIAN_PYTHON} "$@"`) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-hook-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin", "python3"), `#!/bin/sh\n${python3}\n`, { mode: 0o755 });
  const script = [
    password === undefined ? "unset PASSWORD" : 'export PASSWORD="$HOOK_PASSWORD"',
    "unset HOOK_PASSWORD",
    `export DROPSTACK_JUPYTER_CONFIG_DIR="${dir}/etc-jupyter"`,
    `source "${HOOK}"`,
    // What the notebook server would be started with.
    `env > "${dir}/server-env"`,
  ].join("\n");
  const result = run("bash", ["-c", script], undefined, {
    ...process.env,
    PATH: `${dir}/bin:${process.env.PATH}`,
    HOOK_PASSWORD: password ?? "",
  });
  // A name jupyter_server reads from a config folder: it ignores jupyter_server_config.d/ (that
  // is for extensions), which is where this file once went, leaving the server on a token.
  const configFile = path.join(dir, "etc-jupyter", "jupyter_server_config.json");
  return {
    ...result,
    serverEnv: fs.readFileSync(path.join(dir, "server-env"), "utf8"),
    config: fs.existsSync(configFile) ? JSON.parse(fs.readFileSync(configFile, "utf8")) : undefined,
  };
}

function passwdCheck(hashed: string, candidate: string): boolean {
  const check = run(
    DEBIAN_PYTHON,
    [
      "-c",
      "import sys; from jupyter_server.auth.security import passwd_check; print(passwd_check(sys.argv[1], sys.stdin.read()))",
      hashed,
    ],
    candidate,
  );
  if (check.status !== 0) throw new Error(check.output);
  return check.output.trim() === "True";
}

const withJupyterServer = testWithTool(DEBIAN_PYTHON, [
  "-c",
  "import jupyter_server.auth.security",
]);

describe("the notebook image's password hook", () => {
  withJupyterServer(
    "hashes PASSWORD so jupyter_server accepts it and rejects anything else",
    () => {
      const password = "correct horse $battery 'staple'";
      const { status, config } = runHook(password);
      expect(status).toBe(0);
      const hashed = config.PasswordIdentityProvider.hashed_password;
      expect(hashed).not.toContain(password);
      expect(passwdCheck(hashed, password)).toBe(true);
      expect(passwdCheck(hashed, "wrong")).toBe(false);
      expect(passwdCheck(hashed, "")).toBe(false);
      // Without a token, the login page asks for the password.
      expect(config.IdentityProvider).toEqual({ token: "" });
    },
  );

  withJupyterServer("removes PASSWORD from the environment the server starts with", () => {
    const { serverEnv } = runHook("s3cret-value");
    expect(serverEnv).not.toMatch(/^PASSWORD=/m);
    expect(serverEnv).not.toContain("s3cret-value");
  });

  test("says the password was not set when Python cannot set it, rather than that it was", () => {
    const { status, config, output } = runHook(
      "s3cret",
      "echo \"ModuleNotFoundError: No module named 'jupyter_server'\" >&2; exit 1",
    );
    expect(status).toBe(0);
    expect(config).toBeUndefined();
    expect(output).not.toContain("password set");
    expect(output).toContain(
      "dropstack: the notebook password could not be set (see above); the server falls back to a token (see its log)",
    );
  });

  withJupyterServer("writes no password file and says so when PASSWORD is empty", () => {
    const { status, config, output } = runHook(undefined);
    expect(status).toBe(0);
    expect(config).toBeUndefined();
    expect(output).toContain(
      "dropstack: PASSWORD is empty; the server falls back to a token (see its log)",
    );
  });

  testWithJupyter()(
    "writes where the image's server reads it, beside the image's own settings",
    () => {
      const dockerfile = fs.readFileSync(path.join(IMAGE_DIR, "Dockerfile"), "utf8");
      expect(dockerfile).toContain(
        "COPY jupyter_server_config.py /usr/local/etc/jupyter/jupyter_server_config.py",
      );
      expect(fs.readFileSync(HOOK, "utf8")).toContain(
        'config_dir="${DROPSTACK_JUPYTER_CONFIG_DIR:-/usr/local/etc/jupyter}"',
      );
      // That folder is on the config path of the server the image runs, whatever the user's.
      const onPath = run(
        jupyterPython()!,
        ["-c", "from jupyter_core.paths import jupyter_config_path; print(jupyter_config_path())"],
        undefined,
        { PATH: process.env.PATH, HOME: os.tmpdir() },
      );
      expect(onPath.output).toContain("'/usr/local/etc/jupyter'");
    },
  );

  testWithTool("shellcheck")("and the notebook copier pass shellcheck", () => {
    for (const file of ["dropstack-password.sh", "copy-notebooks.sh"]) {
      expect({ file, ...run("shellcheck", [path.join(IMAGE_DIR, file)]) }).toEqual({
        file,
        status: 0,
        output: "",
      });
    }
  });
});

describe("the notebook image's Dockerfile", () => {
  const dockerfile = fs.readFileSync(path.join(IMAGE_DIR, "Dockerfile"), "utf8");

  test("builds on Jupyter's quay.io datascience image pinned to a build date", () => {
    const from = dockerfile.match(/^FROM\s+(\S+)/m)?.[1];
    expect(from).toMatch(/^quay\.io\/jupyter\/datascience-notebook:\d{4}-\d{2}-\d{2}$/);
  });

  test("adds mongoengine and pymongo and installs the hook where start.sh sources it", () => {
    expect(dockerfile).toMatch(/pip install --no-cache-dir "mongoengine[^"]*" "pymongo[^"]*"/);
    expect(dockerfile).toContain("dropstack-password.sh /usr/local/bin/before-notebook.d/");
    expect(dockerfile).toMatch(/before-notebook\.d\/\S+\.sh$/m);
  });
});

describe("the quickstart notebook", () => {
  const file = path.join(IMAGE_DIR, "notebooks", "mongo-quickstart.ipynb");

  testWithTool(DEBIAN_PYTHON, ["-c", "import nbformat"])("is valid nbformat", () => {
    const result = run(DEBIAN_PYTHON, [
      "-c",
      "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print('valid')",
      file,
    ]);
    expect(result).toEqual({ status: 0, output: "valid\n" });
  });

  test("connects with mongoengine through MONGO_URL, saves a document and reads it back", () => {
    const notebook = JSON.parse(fs.readFileSync(file, "utf8"));
    const code = notebook.cells
      .filter((c: any) => c.cell_type === "code")
      .map((c: any) => c.source.join(""))
      .join("\n");
    expect(code).toContain('connect(host=os.environ["MONGO_URL"])');
    expect(code).toMatch(/\.save\(\)/);
    expect(code).toMatch(/\.objects\(/);
  });
});

test("the default Stackfile gives the notebook the variables the image reads", () => {
  const stack = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "datascience.yml"), "utf8"));
  expect(stack.datascience.environment).toEqual(expect.arrayContaining(["PASSWORD=${PASSWORD}"]));
  expect(stack.datascience.build).toBe("../images/datascience");
});
