// What the tests that run real servers share: starting and stopping them with their output kept
// for failure messages, free loopback ports, and certificate authorities made with openssl.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import type * as tls from "tls";
import { run } from "./tools";

/** A server a test started, with the tail of its output for when it dies. */
export interface Child {
  name: string;
  process: ChildProcess;
  output: string;
  exited?: string;
}

export function start(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Child {
  // Its own process group, so stopping it reaches what it started (Jupyter's kernels too).
  const child = spawn(command, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const started: Child = { name, process: child, output: "" };
  const keep = (chunk: Buffer) => {
    started.output = (started.output + chunk.toString()).slice(-6000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("exit", (code, signal) => {
    started.exited = signal ? `was killed by ${signal}` : `exited with status ${code}`;
  });
  child.on("error", (error) => {
    started.exited = `failed to start: ${error.message}`;
  });
  return started;
}

/** The end of a server's output, and how it ended, for a failure message. */
export function tail(child: Child): string {
  const state = child.exited ? ` (it ${child.exited})` : "";
  return `\n--- ${child.name}'s output${state} ended with:\n${child.output}`;
}

/** SIGTERM to the server's group, SIGKILL after 10 s (Caddy's grace period, Jupyter's kernels). */
export async function stop(child: Child): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.process.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  if (child.process.pid === undefined) return;
  if (!child.exited) {
    const exited = new Promise((resolve) => child.process.once("exit", resolve));
    signalGroup("SIGTERM");
    const timer = setTimeout(() => signalGroup("SIGKILL"), 10000);
    await exited;
    clearTimeout(timer);
  }
  signalGroup("SIGKILL");
}

/** Free loopback ports, all held at once so they differ. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export function openssl(args: string[]): void {
  const result = run("openssl", args);
  if (result.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.output}`);
}

/** A certificate and its key, as files, and the certificate's PEM. */
export interface CertificateFiles {
  cert: string;
  key: string;
  pem: string;
}

/**
 * A root CA in `folder` (root.crt, root.key) as `pulumi up` makes the stack's (components/
 * proxy.ts): an EC P-256 key in the SEC1 PEM the tls provider writes, a root that may sign only,
 * valid for ten years (Caddy refuses a root that its 7-day intermediates would outlive).
 */
export function makeCa(folder: string, commonName: string): CertificateFiles {
  const cert = path.join(folder, "root.crt");
  const key = path.join(folder, "root.key");
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  openssl([
    ...["req", "-x509", "-new", "-key", key, "-out", cert, "-days", "3650"],
    ...["-subj", `/O=dropstack/CN=${commonName}`],
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
  ]);
  return { cert, key, pem: fs.readFileSync(cert, "utf8") };
}

/** A server certificate signed by `ca` for `subjectAltName` (e.g. "DNS:localhost,IP:127.0.0.1"). */
export function signCertificate(
  ca: CertificateFiles,
  folder: string,
  subjectAltName: string,
): CertificateFiles {
  const cert = path.join(folder, "server.crt");
  const key = path.join(folder, "server.key");
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  openssl([
    ...["req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2"],
    ...["-CA", ca.cert, "-CAkey", ca.key, "-subj", "/CN=dropstack test server"],
    ...["-addext", `subjectAltName=${subjectAltName}`],
    ...["-addext", "basicConstraints=critical,CA:FALSE"],
    ...["-addext", "extendedKeyUsage=serverAuth"],
  ]);
  return { cert, key, pem: fs.readFileSync(cert, "utf8") };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The chain the server presented, for HTTPS. */
  certificate?: tls.DetailedPeerCertificate;
}

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string;
  /** Trust only these roots; without them, Node's own. */
  ca?: string[];
  /** The name sent as SNI, and checked against the certificate; none for an address. */
  servername?: string;
}

/** One HTTP(S) request on a connection of its own, so none is left open when servers stop. */
export function httpRequest(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith("https:");
    const req = (secure ? https : http).request(
      url,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        agent: false,
        ...(secure ? { ca: options.ca, servername: options.servername } : {}),
      },
      (res) => {
        const certificate = secure
          ? (res.socket as tls.TLSSocket).getPeerCertificate(true)
          : undefined;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            certificate,
          }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(10000, () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
