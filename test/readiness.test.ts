// The readiness scripts, run for real with stand-ins for ssh and the node's tools on PATH.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./harness";
import { spawn } from "child_process";
import { makeCa, signCertificate } from "./servers";
import { hasTool, run, testWithTool } from "./tools";

/** A folder of executable stand-ins; `ssh` runs the remote command locally, as the node would. */
function fakeTools(tools: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-fake-"));
  for (const [name, body] of Object.entries(tools)) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return dir;
}

const REMOTE_SSH = [
  // Drop ssh's options and the destination, then run the command here as sshd does: ssh joins
  // the arguments with spaces into one command line, which the node's shell splits again.
  'while [ "$#" -gt 0 ]; do case "$1" in -i|-o) shift 2 ;; root@*) shift; break ;; *) shift ;; esac; done',
  'exec sh -c "$*"',
].join("\n");

function waitReady(tools: Record<string, string>, timeout = "30", dataMount = "/mnt/data") {
  const bin = fakeTools(tools);
  return run("sh", [path.join(ROOT, "cloud-init", "wait-ready.sh")], undefined, {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    DROPSTACK_HOST: "203.0.113.10",
    DROPSTACK_SSH_OPTS: "-i .dropstack/dev/id_ed25519 -o StrictHostKeyChecking=yes",
    DROPSTACK_TIMEOUT: timeout,
    DROPSTACK_DATA_MOUNT: dataMount,
  });
}

const HEALTHY = {
  ssh: REMOTE_SSH,
  "cloud-init": "exit 0",
  mountpoint: "exit 0",
  docker: "exit 0",
  findmnt: 'echo "/dev/sda"',
  resize2fs: 'echo "resize2fs $*" >> "${RESIZE_LOG:-/dev/null}"',
};

describe("waiting for the node", () => {
  test("succeeds once cloud-init is done, the volume mounted and Docker answering", () => {
    expect(waitReady(HEALTHY)).toEqual({ status: 0, output: "dropstack: node ready\n" });
  });

  // Found by the emulated DigitalOcean: the empty argument did not survive ssh's command line,
  // and node-check.sh's `set -u` failed every cluster node but the first.
  test("passes on a cluster node without a data volume, whose empty mount point ssh drops", () => {
    const result = waitReady({ ...HEALTHY, mountpoint: "exit 1" }, "30", "");
    expect(result).toEqual({ status: 0, output: "dropstack: node ready\n" });
  });

  test("gives up on SSH after the timeout, naming the host, the last error and what to check", () => {
    const result = waitReady(
      { ssh: 'echo "ssh: connect to host 203.0.113.10 port 22: Connection refused" >&2; exit 255' },
      "1",
    );
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "dropstack: the node at 203.0.113.10 did not accept SSH within 1 s.",
    );
    expect(result.output).toContain(
      "Last SSH error: ssh: connect to host 203.0.113.10 port 22: Connection refused",
    );
    expect(result.output).toContain(
      "Check that this machine's address is inside dropstack:sshSourceCidrs",
    );
  });

  test("fails when cloud-init failed, with the tail of its log", () => {
    const result = waitReady({ ...HEALTHY, "cloud-init": "exit 1" });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "dropstack: the node is not ready: cloud-init failed (exit status 1)",
    );
    expect(result.output).toContain("Last lines of /var/log/cloud-init-output.log:");
  });

  test("grows the data volume's filesystem to the volume's size, from its mount's device", () => {
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-resize-")), "log");
    process.env.RESIZE_LOG = log;
    try {
      expect(waitReady(HEALTHY)).toEqual({ status: 0, output: "dropstack: node ready\n" });
    } finally {
      delete process.env.RESIZE_LOG;
    }
    expect(fs.readFileSync(log, "utf8")).toBe("resize2fs /dev/sda\n");
  });

  test("fails when the filesystem cannot grow, saying what failed", () => {
    const result = waitReady({ ...HEALTHY, resize2fs: "exit 1" });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "dropstack: the node is not ready: the data volume's filesystem could not grow to the volume's size ('resize2fs /dev/sda' failed)",
    );
  });

  test("fails when the data volume is not mounted", () => {
    const result = waitReady({ ...HEALTHY, mountpoint: "exit 1" });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "dropstack: the node is not ready: the data volume is not mounted at /mnt/data",
    );
  });

  test("fails when Docker does not answer", () => {
    const result = waitReady({ ...HEALTHY, docker: "exit 1" });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      "dropstack: the node is not ready: Docker does not answer ('docker info' failed)",
    );
  });

  test("accepts cloud-init's recoverable errors with a warning", () => {
    const result = waitReady({ ...HEALTHY, "cloud-init": "exit 2" });
    expect(result.status).toBe(0);
    expect(result.output).toContain(
      "dropstack: cloud-init finished with recoverable errors; see /var/log/cloud-init.log\n",
    );
    expect(result.output).toContain("dropstack: node ready\n");
  });
});

describe("waiting for the app", () => {
  test("gives up after the timeout with the last error and where to look", async () => {
    // A loopback port that was free a moment ago: nothing listens there.
    const http = await import("http");
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const result = run(process.execPath, [
      path.join(ROOT, "scripts", "wait-http.js"),
      `http://127.0.0.1:${port}/`,
      "1",
    ]);
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      `dropstack: http://127.0.0.1:${port}/ did not answer within 1 s (last: ECONNREFUSED).`,
    );
    expect(result.output).toContain(
      "raise dropstack:readinessTimeoutMinutes; see README, Troubleshooting.",
    );
  });

  test("succeeds when the URL answers below 500", async () => {
    const http = await import("http");
    const server = http.createServer((_req, res) =>
      res.writeHead(302, { location: "/login" }).end(),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const { spawn } = await import("child_process");
    const child = spawn(process.execPath, [
      path.join(ROOT, "scripts", "wait-http.js"),
      `http://127.0.0.1:${port}/`,
      "10",
    ]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise((resolve) => child.on("exit", resolve));
    server.close();
    expect({ code, out }).toEqual({ code: 0, out: `http://127.0.0.1:${port}/ answered 302\n` });
  });
});

describe("waiting for the app over HTTPS", () => {
  const NAME = "notebooks.example.com";
  let dir: string;
  let server: import("https").Server;
  let port: number;
  let caPem: string;

  /** A CA and a certificate for NAME signed by it. */
  function makeCertificates(): { key: string; cert: string } {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-tls-"));
    const ca = makeCa(dir, "test CA");
    caPem = ca.pem;
    const site = signCertificate(ca, dir, `DNS:${NAME}`);
    return { key: fs.readFileSync(site.key, "utf8"), cert: site.pem };
  }

  const wait = (env: Record<string, string>, timeout = "10") =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, "scripts", "wait-http.js"), `https://${NAME}:${port}/`, timeout],
        { env: { ...process.env, ...env } },
      );
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });

  beforeAll(async () => {
    if (!hasTool("openssl", ["version"])) return;
    const https = await import("https");
    server = https.createServer(makeCertificates(), (req, res) =>
      res.writeHead(req.headers.host === `${NAME}:${port}` ? 200 : 421).end(),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server?.close());

  testWithTool("openssl", ["version"])(
    "connects to the node's address, asks for the name, and trusts the stack's CA",
    async () => {
      expect(await wait({ DROPSTACK_CONNECT_TO: "127.0.0.1", DROPSTACK_CA_PEM: caPem })).toEqual({
        code: 0,
        out: `https://${NAME}:${port}/ answered 200\n`,
      });
    },
  );

  testWithTool("openssl", ["version"])(
    "does not accept a certificate nobody it trusts signed, and says where to look",
    async () => {
      const { code, out } = await wait(
        { DROPSTACK_CONNECT_TO: "127.0.0.1", DROPSTACK_PROXY_CONTAINER: "dropstack-dev-proxy" },
        "1",
      );
      expect(code).toBe(1);
      expect(out).toContain(
        `dropstack: https://${NAME}:${port}/ did not answer within 1 s (last: UNABLE_TO_VERIFY_LEAF_SIGNATURE).`,
      );
      expect(out).toContain(
        "(`docker logs dropstack-dev-proxy` on the Docker host) says why it has none.",
      );
    },
  );
});
