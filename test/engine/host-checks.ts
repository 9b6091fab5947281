// What `pulumi up` does on the Docker host besides creating containers, done here on the real
// Docker engine with the program's own artefacts: scripts/image-inspect.sh reading an image's
// EXPOSE lines, and the HTTPS proxy as the Docker provider creates it (Caddy at the node's
// version, the Caddyfile planProxy renders, files uploaded as a tar at /, the stack network's
// svc-N aliases) fronting a web service with `tls: internal`.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { CA_VARIABLE, caId, PROXY_PATHS } from "../../proxy/caddy";
import { planProxy } from "../../proxy/plan";
import { parseExposedPorts, parseImageVolumes, parseStackfile } from "../../stackfile";
import { caddyBinary } from "../caddy";
import { makeCa } from "../servers";
import { BASE_IMAGE } from "./base-image";
import { expectEqual, tryDocker } from "./checks";
import type { Check } from "./checks";
import type { DockerEngine } from "./docker-engine";

/** The proxy's site in the Docker check: an address, as a node without a domain has. */
const SITE = "127.0.0.1";

export async function hostChecks(
  engine: DockerEngine,
  project: string,
  prefix: string,
  check: Check,
): Promise<void> {
  await check(
    "scripts/image-inspect.sh reads the ports an image exposes and the volumes it declares from Docker",
    () => {
      const tag = `${prefix}-exposes:test`;
      engine.docker(
        ["build", "-q", "-t", tag, "-"],
        `FROM ${BASE_IMAGE}\nEXPOSE 3306 33060/udp 9/sctp\nVOLUME /var/lib/db\nVOLUME ["/data/with space"]\n`,
      );
      try {
        const id = engine.docker(["image", "inspect", "--format", "{{.Id}}", tag]).trim();
        const inspect = (what: string, image = id) => {
          const run = spawnSync(
            "sh",
            [path.join(project, "scripts", "image-inspect.sh"), what, image],
            { env: { ...process.env, DOCKER_HOST: engine.host }, encoding: "utf8" },
          );
          if (run.status !== 0) throw new Error(`image-inspect.sh ${what}: ${run.stderr}`);
          return run.stdout;
        };
        expectEqual(
          parseExposedPorts(inspect("ports")),
          [
            { port: 3306, protocol: "tcp" },
            { port: 33060, protocol: "udp" },
          ],
          "the image's exposed ports",
        );
        expectEqual(
          parseImageVolumes(inspect("volumes")),
          ["/data/with space", "/var/lib/db"],
          "the image's volumes",
        );
        // And the base image, which declares none, as `null`.
        const base = engine.docker(["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE]).trim();
        expectEqual(parseImageVolumes(inspect("volumes", base)), [], "the base image's volumes");
      } finally {
        engine.docker(["rmi", tag]);
      }
    },
  );

  await check(
    "scripts/prune-builds.sh removes a service's earlier builds from Docker, not the current one nor one a container uses",
    () => pruneBuildsCheck(engine, project, prefix),
  );

  await check(
    "the HTTPS proxy (tls internal) fronts a service on the stack network in Docker",
    () => proxyCheck(engine, prefix),
  );

  await check("scripts/swarm.sh forms a swarm and labels its node on the real engine", () =>
    swarmScriptCheck(engine, project, prefix),
  );
}

/** prune-builds.sh's docker commands and templates against the real engine, here. */
function pruneBuildsCheck(engine: DockerEngine, project: string, prefix: string): void {
  const repository = `${prefix}-prune/app`;
  const [current, earlier, used] = ["c0ffee000001", "c0ffee000002", "c0ffee000003"];
  const container = `${prefix}-prune-user`;
  // Three builds, as three edits of a context make, and a stopped container on one of them.
  for (const tag of [current, earlier, used])
    engine.docker(
      ["build", "-q", "-t", `${repository}:${tag}`, "-"],
      `FROM ${BASE_IMAGE}\nLABEL build=${tag}\n`,
    );
  engine.docker(["tag", BASE_IMAGE, `${repository}:latest`]);
  engine.docker(["create", "--name", container, `${repository}:${used}`, "true"]);
  try {
    const prune = spawnSync(
      "sh",
      [path.join(project, "scripts", "prune-builds.sh"), repository, current],
      {
        env: { ...process.env, DOCKER_HOST: engine.host },
        encoding: "utf8",
      },
    );
    if (prune.status !== 0) throw new Error(`prune-builds.sh: ${prune.stdout}${prune.stderr}`);
    const lines = prune.stdout.trim().split("\n").sort();
    expectEqual(lines.length, 2, `what prune-builds.sh said: ${prune.stdout}`);
    // Docker's refusal, which names the container.
    if (
      !lines[0].startsWith(`kept the earlier build ${repository}:${used}: `) ||
      !/container/.test(lines[0])
    )
      throw new Error(`the used build: expected it kept, with Docker's reason; got ${lines[0]}`);
    expectEqual(
      lines[1],
      `removed the earlier build ${repository}:${earlier}`,
      "the earlier build",
    );
    const left = engine
      .docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository])
      .trim()
      .split("\n")
      .sort();
    expectEqual(
      left,
      [current, used, "latest"].map((t) => `${repository}:${t}`).sort(),
      "the tags left",
    );
  } finally {
    tryDocker(engine, ["rm", "-f", container]);
    for (const tag of [current, earlier, used, "latest"])
      tryDocker(engine, ["rmi", `${repository}:${tag}`]);
  }
}

/**
 * swarm.sh's docker commands, Go templates and quoting against the real engine, through an ssh
 * stand-in that runs the remote command here (one engine: a join needs a second, which the
 * stand-in tests in test/swarm-script.test.ts cover).
 */
function swarmScriptCheck(engine: DockerEngine, project: string, prefix: string): void {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-swarm-ssh-"));
  fs.writeFileSync(
    path.join(bin, "ssh"),
    [
      "#!/bin/sh",
      'while [ "$#" -gt 0 ]; do case "$1" in -i|-o) shift 2 ;; root@*) shift; break ;; *) shift ;; esac; done',
      'exec sh -c "$1"',
    ].join("\n") + "\n",
    { mode: 0o755 },
  );
  const swarm = (action: string, env: Record<string, string>, input?: string) => {
    const r = spawnSync("sh", [path.join(project, "scripts", "swarm.sh"), action], {
      input,
      encoding: "utf8",
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        DOCKER_HOST: engine.host,
        DROPSTACK_HOST: "127.0.0.1",
        DROPSTACK_SSH_OPTS: "-o BatchMode=yes",
        DROPSTACK_ADDR: "127.0.0.1",
        DROPSTACK_MANAGER_HOST: "127.0.0.1",
        DROPSTACK_MANAGER_SSH_OPTS: "-o BatchMode=yes",
        DROPSTACK_MANAGER_ADDR: "127.0.0.1",
        // The stack's prefix: init stops this engine's containers named with it (none here).
        DROPSTACK_PREFIX: `${prefix}-swarm-script`,
        ...env,
      },
    });
    if (r.status !== 0) throw new Error(`swarm.sh ${action}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  tryDocker(engine, ["swarm", "leave", "--force"]);
  try {
    const tokens = JSON.parse(swarm("init", {}));
    if (!/^SWMTKN-1-/.test(tokens.worker) || !/^SWMTKN-1-/.test(tokens.manager))
      throw new Error(`init printed no join tokens: ${JSON.stringify(tokens)}`);
    expectEqual(JSON.parse(swarm("init", {})), tokens, "a second init: the same swarm");
    const node = engine.docker(["info", "--format", "{{.Name}}"]).trim();
    const labels = () =>
      JSON.parse(engine.docker(["node", "inspect", "--format", "{{json .Spec.Labels}}", node]));
    swarm("label", {
      DROPSTACK_NODE: node,
      DROPSTACK_LABELS: "dropstack.node=1 dropstack.data=true dropstack.tag.gpu=true",
    });
    expectEqual(
      labels(),
      { "dropstack.data": "true", "dropstack.node": "1", "dropstack.tag.gpu": "true" },
      "the node's labels",
    );
    swarm("label", {
      DROPSTACK_NODE: node,
      DROPSTACK_LABELS: "dropstack.node=1 dropstack.data=true",
    });
    expectEqual(
      labels(),
      { "dropstack.data": "true", "dropstack.node": "1" },
      "the labels once the gpu tag is gone from the config",
    );
  } finally {
    tryDocker(engine, ["swarm", "leave", "--force"]);
    fs.rmSync(bin, { recursive: true, force: true });
  }
}

async function proxyCheck(engine: DockerEngine, prefix: string): Promise<void> {
  const caddy = caddyBinary();
  if (caddy === undefined) throw new Error("Caddy is not built: run scripts/caddy/build.sh");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-proxy-engine-"));
  const network = `${prefix}-proxy`;
  const names = { web: `${prefix}-web-1`, proxy: `${prefix}-proxy`, image: `${prefix}-caddy:test` };
  const cleanup = () => {
    for (const c of [names.proxy, names.web]) tryDocker(engine, ["rm", "-f", c]);
    tryDocker(engine, ["network", "rm", network]);
    tryDocker(engine, ["rmi", names.image]);
    fs.rmSync(work, { recursive: true, force: true });
  };
  cleanup();
  fs.mkdirSync(work, { recursive: true });
  try {
    // What the program would deploy for this Stackfile on the local target with tls internal.
    const { spec } = parseStackfile(
      'web:\n  image: dropstack-test/base:bookworm\n  command: python3 -m http.server 8080\n  ports:\n    - "80:8080"\n',
      "stack.yml",
    );
    const plan = planProxy({ target: "local", tls: "internal", domain: "" }, spec)!;
    expectEqual(plan.caddyfile.includes("reverse_proxy web-1:8080\n"), true, "the upstream");

    // The stand-in for caddy:<version>: the same release, on the base image.
    fs.copyFileSync(caddy, path.join(work, "caddy"));
    fs.writeFileSync(
      path.join(work, "Dockerfile"),
      `FROM ${BASE_IMAGE}\nCOPY caddy /usr/bin/caddy\n` +
        'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]\n',
    );
    engine.docker(["build", "-q", "-t", names.image, work]);

    engine.docker(["network", "create", network]);
    // The web service as the Service component runs it: on the network, answering to web-1.
    engine.docker([
      "run",
      "-d",
      "--name",
      names.web,
      "--network",
      network,
      "--network-alias",
      "web",
      "--network-alias",
      "web-1",
      BASE_IMAGE,
      "python3",
      "-m",
      "http.server",
      "8080",
    ]);

    // The stack's CA, as up makes it (an EC P-256 root).
    const ca = makeCa(fs.mkdtempSync(path.join(work, "ca-")), "dropstack engine test root CA");
    const caPem = ca.pem;

    // Created, then given its files, then started: what the provider does with `uploads`,
    // which it sends as one tar extracted at / (parent folders made as needed).
    engine.docker([
      "create",
      "--name",
      names.proxy,
      "--network",
      network,
      "-p",
      "127.0.0.1::80",
      "-p",
      "127.0.0.1::443",
      "-e",
      // An IP address, as a node without a domain has: browsers send no SNI for it, and Caddy,
      // behind Docker's port publishing, sees its container's address, not this one.
      `DROPSTACK_SITE=${SITE}`,
      // The internal CA's name in Caddy, from its root, as components/proxy.ts sets it.
      ...["-e", `${CA_VARIABLE}=${caId(caPem)}`],
      // As components/proxy.ts sets them; the stand-in image, unlike caddy's, does not.
      ...["-e", "XDG_DATA_HOME=/data", "-e", "XDG_CONFIG_HOME=/config"],
      names.image,
    ]);
    const tree = path.join(work, "uploads");
    const put = (file: string, content: string) => {
      fs.mkdirSync(path.join(tree, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(tree, file), content);
    };
    put(PROXY_PATHS.caddyfile, plan.caddyfile);
    put(PROXY_PATHS.caCert, caPem);
    put(PROXY_PATHS.caKey, fs.readFileSync(ca.key, "utf8"));
    const tar = spawnSync("tar", ["-C", tree, "-c", "."], { maxBuffer: 1 << 24 });
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
    engine.docker(["cp", "-", `${names.proxy}:/`], tar.stdout);
    engine.docker(["start", names.proxy]);

    const port = (inner: number) =>
      Number(
        engine
          .docker(["port", names.proxy, `${inner}/tcp`])
          .trim()
          .split(":")
          .pop(),
      );
    const httpsPort = port(443);
    const httpPort = port(80);
    const answer = await waitForHttps(
      httpsPort,
      caPem,
      () => tryDocker(engine, ["logs", "--tail", "20", names.proxy]) ?? "(no logs)",
    );
    expectEqual(answer.status, 200, `https://${SITE}/ through the proxy`);
    if (!answer.body.includes("Directory listing"))
      throw new Error(`not the web service's page:\n${answer.body.slice(0, 300)}`);
    // fetch() sends its own Host header; http.get sends the one the browser would.
    const plain = await new Promise<[number | undefined, string | undefined]>((resolve, reject) =>
      http
        .get({ host: SITE, port: httpPort, path: "/notebooks" }, (res) => {
          res.resume();
          resolve([res.statusCode, res.headers.location]);
        })
        .on("error", reject),
    );
    expectEqual(plain, [308, `https://${SITE}/notebooks`], "plain HTTP");
    // Certificates and keys in /data, which the program puts on the node's data volume, under
    // the CA's name: a new root is a new CA there, with nothing signed by the old one.
    const stored = engine.docker(["exec", names.proxy, "find", "/data/caddy", "-name", "*.crt"]);
    if (!stored.includes(`/data/caddy/certificates/${caId(caPem)}/${SITE}/${SITE}.crt`))
      throw new Error(`no certificate for ${SITE} under /data:\n${stored}`);
  } finally {
    cleanup();
  }
}

/** GET https://SITE:port/ as a browser does for an address (no SNI), trusting only `ca`. */
async function waitForHttps(
  port: number,
  ca: string,
  logs: () => string,
): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let last: string;
    try {
      return await new Promise((resolve, reject) => {
        const req = https.get(
          {
            host: SITE,
            port,
            path: "/",
            ca,
          },
          (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
      });
    } catch (e) {
      last = (e as NodeJS.ErrnoException).code ?? String(e);
    }
    if (Date.now() > deadline)
      throw new Error(`https://${SITE}/ did not answer within 30 s (last: ${last})\n${logs()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
