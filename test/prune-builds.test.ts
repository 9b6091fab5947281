// A built service's earlier builds, removed from its node by scripts/prune-builds.sh once the
// service runs the new build (the Docker provider removes none on a node: see serviceImage).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./harness";
import { run } from "./tools";

const SCRIPT = path.join(ROOT, "scripts", "prune-builds.sh");
const CURRENT = "19b61d3f978b";

/**
 * Stand-ins for docker (its tags in `tags`, those a container uses in `in-use`, each call in
 * `calls`) and ssh (which records its arguments and runs the remote command here).
 */
function fakes(tags: string[], inUse: string[]): { dir: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-prune-"));
  fs.writeFileSync(path.join(dir, "tags"), tags.map((t) => `${t}\n`).join(""));
  fs.writeFileSync(path.join(dir, "in-use"), inUse.map((t) => `${t}\n`).join(""));
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh
echo "docker $*" >> ${dir}/calls
case "$1 $2" in
  "image ls") grep "^$5:" ${dir}/tags || true ;;
  "image rm")
    if grep -qx "$3" ${dir}/in-use; then
      echo "Error response from daemon: conflict: unable to remove repository reference \\"$3\\" (must force) - container 0f3c is using its referenced image" >&2
      exit 1
    fi
    grep -vx "$3" ${dir}/tags > ${dir}/rest; mv ${dir}/rest ${dir}/tags; echo "Untagged: $3" ;;
esac
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(dir, "ssh"),
    `#!/bin/sh
echo "ssh $*" >> ${dir}/calls
while [ "\${1#root@}" = "$1" ]; do shift; done
shift
exec "$@"
`,
    { mode: 0o755 },
  );
  const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
  return { dir, calls };
}

describe("scripts/prune-builds.sh", () => {
  const TAGS = [
    `dropstack/datascience:${CURRENT}`,
    "dropstack/datascience:aaaaaaaaaaaa",
    "dropstack/datascience:0123456789ab",
    "dropstack/datascience:latest",
    "dropstack/datascience:0123456789abc",
    "dropstack/other:bbbbbbbbbbbb",
  ];

  test("removes the earlier builds on the node, keeping the current one and any other tag", () => {
    const { dir, calls } = fakes(TAGS, ["dropstack/datascience:0123456789ab"]);
    const env = {
      PATH: `${dir}:/usr/bin:/bin`,
      DROPSTACK_HOST: "203.0.113.10",
      DROPSTACK_SSH_OPTS: "-i key -o StrictHostKeyChecking=yes",
    };
    expect(run("sh", [SCRIPT, "dropstack/datascience", CURRENT], undefined, env)).toEqual({
      status: 0,
      output:
        "removed the earlier build dropstack/datascience:aaaaaaaaaaaa\n" +
        "kept the earlier build dropstack/datascience:0123456789ab: Error response from daemon: " +
        'conflict: unable to remove repository reference "dropstack/datascience:0123456789ab" ' +
        "(must force) - container 0f3c is using its referenced image\n",
    });
    expect(calls()[0]).toBe(
      `ssh -i key -o StrictHostKeyChecking=yes -o ConnectTimeout=10 root@203.0.113.10 sh -s dropstack/datascience ${CURRENT}`,
    );
    // Never forced: a tag a container uses stays, for a later run once nothing uses it.
    expect(calls().filter((c) => c.startsWith("docker image rm"))).toEqual([
      "docker image rm dropstack/datascience:aaaaaaaaaaaa",
      "docker image rm dropstack/datascience:0123456789ab",
    ]);
    expect(fs.readFileSync(path.join(dir, "tags"), "utf8").trim().split("\n")).toEqual(
      TAGS.filter((t) => !t.endsWith(":aaaaaaaaaaaa")),
    );
  });

  test("asks this machine's Docker without DROPSTACK_HOST, with nothing to remove", () => {
    const { dir, calls } = fakes([`dropstack/datascience:${CURRENT}`], []);
    expect(
      run("sh", [SCRIPT, "dropstack/datascience", CURRENT], undefined, {
        PATH: `${dir}:/usr/bin:/bin`,
      }),
    ).toEqual({ status: 0, output: "" });
    expect(calls()).toEqual([
      "docker image ls --format {{.Repository}}:{{.Tag}} dropstack/datascience",
    ]);
  });

  test("takes a registry's host and port in the repository", () => {
    const { dir } = fakes(["registry.example.com:5000/app:aaaaaaaaaaaa"], []);
    expect(
      run("sh", [SCRIPT, "registry.example.com:5000/app", CURRENT], undefined, {
        PATH: `${dir}:/usr/bin:/bin`,
      }),
    ).toEqual({
      status: 0,
      output: "removed the earlier build registry.example.com:5000/app:aaaaaaaaaaaa\n",
    });
  });

  test("refuses what the node's shell would read as more than a name and a tag", () => {
    const env = { PATH: "/usr/bin:/bin" };
    expect(run("sh", [SCRIPT, "app; rm -rf /", CURRENT], undefined, env)).toEqual({
      status: 2,
      output: "prune-builds.sh: not a repository: app; rm -rf /\n",
    });
    expect(run("sh", [SCRIPT, "dropstack/datascience", "latest"], undefined, env)).toEqual({
      status: 2,
      output: "prune-builds.sh: not a build's tag: latest\n",
    });
    expect(run("sh", [SCRIPT, "dropstack/datascience", "abc"], undefined, env)).toEqual({
      status: 2,
      output: "prune-builds.sh: not a build's tag: abc\n",
    });
    expect(run("sh", [SCRIPT, "dropstack/datascience"], undefined, env)).toMatchObject({
      status: 2,
    });
  });
});
