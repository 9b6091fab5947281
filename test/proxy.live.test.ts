// The front proxy live, all on loopback: the Caddyfile `pulumi up` gives the node (with the
// `internal` CA, as `tls: internal` runs it), run by the Caddy release the node runs, in front of
// the Jupyter server line the image runs (2.x), set up as the image sets it up: the folder on its
// config path holding the image's jupyter_server_config.py and what the password hook writes.
// It checks what a user's browser needs: the redirect to HTTPS, a certificate from the stack's
// CA, a login with the password (not a token), a Secure login cookie, a kernel's WebSocket.
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import type { Duplex } from "stream";
import { CA_VARIABLE, caId, renderCaddyfile, SITE_VARIABLE } from "../proxy/caddy";
import { caddyBinary, testWithCaddy } from "./caddy";
import { ROOT } from "./harness";
import { jupyterPython, testWithJupyter } from "./jupyter";
import { Child, freePorts, httpRequest, makeCa, start, stop, tail } from "./servers";
import type { Reply, RequestOptions } from "./servers";
import { run, testWithAll, testWithTool } from "./tools";

const IMAGE_DIR = path.join(ROOT, "images", "datascience");
const PASSWORD = "correct horse $battery 'staple'";
/** How long each server may take to come up: generous, since a slow CI machine is no failure. */
const STARTUP_MS = 20000;

// A skip, or under CI=true a failure, naming what is missing.
const liveTest = testWithAll(
  testWithCaddy(),
  testWithJupyter(),
  testWithTool("openssl", ["version"]),
);

/** A request as the browser on https://localhost:<port> makes it (SNI localhost). */
function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return httpRequest(url, { servername: "localhost", ...options });
}

async function waitUntilAnswering(child: Child, url: string, options: RequestOptions) {
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    if (child.exited)
      throw new Error(`${child.name} ${child.exited} before ${url} answered\n${tail(child)}`);
    try {
      return await request(url, options);
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`${url} did not answer within ${STARTUP_MS} ms: ${error}\n${tail(child)}`, {
          cause: error,
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Cookie {
  name: string;
  value: string;
  /** The Set-Cookie header as sent, for messages. */
  header: string;
  /** Attribute names, lower-cased: "secure", "httponly", "path"... */
  attributes: string[];
}

function cookiesOf(reply: Reply): Cookie[] {
  return (reply.headers["set-cookie"] ?? []).map((header) => {
    const [pair, ...attributes] = header.split(";").map((part) => part.trim());
    const equals = pair.indexOf("=");
    return {
      name: pair.slice(0, equals),
      value: pair.slice(equals + 1),
      header,
      attributes: attributes.map((attribute) => attribute.split("=")[0].toLowerCase()),
    };
  });
}

/** A masked client frame (RFC 6455 5.2): FIN set, one frame per message. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt16BE(payload.length, 2);
    header[1] = 0x80 | 126;
  } else {
    header = Buffer.alloc(10);
    header.writeBigUInt64BE(BigInt(payload.length), 2);
    header[1] = 0x80 | 127;
  }
  header[0] = 0x80 | opcode;
  const mask = crypto.randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([header, mask, masked]);
}

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** The first whole frame in `buffer` and what follows it, or undefined until more arrives. */
function takeFrame(buffer: Buffer): { frame: Frame; rest: Buffer } | undefined {
  if (buffer.length < 2) return undefined;
  if (buffer[1] & 0x80) throw new Error("the server sent a masked frame, which RFC 6455 forbids");
  let length = buffer[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffer.length < offset + length) return undefined;
  return {
    frame: {
      fin: (buffer[0] & 0x80) !== 0,
      opcode: buffer[0] & 0x0f,
      payload: buffer.subarray(offset, offset + length),
    },
    rest: buffer.subarray(offset + length),
  };
}

/** Resolves with the first text message `wanted` accepts; the socket's other messages pass by. */
function receive(socket: Duplex, head: Buffer, wanted: (message: any) => boolean): Promise<any> {
  return new Promise((resolve, reject) => {
    let buffer: Buffer = Buffer.from(head);
    let fragments: Buffer[] = [];
    let textMessage = false;
    const seen: string[] = [];
    const finish = (error: Error | undefined, message?: any) => {
      socket.removeListener("data", onData);
      socket.removeListener("close", onClose);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(message);
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        for (let taken = takeFrame(buffer); taken; taken = takeFrame(buffer)) {
          buffer = taken.rest;
          const { fin, opcode, payload } = taken.frame;
          if (opcode === 0x8) {
            const code = payload.length >= 2 ? payload.readUInt16BE(0) : "none";
            return finish(new Error(`the server closed the WebSocket (code ${code}) ${payload}`));
          }
          if (opcode >= 0x8) continue; // ping or pong
          if (opcode !== 0x0) {
            fragments = [];
            textMessage = opcode === 0x1;
          }
          fragments.push(payload);
          if (!fin || !textMessage) continue;
          const message = JSON.parse(Buffer.concat(fragments).toString());
          seen.push(message.msg_type);
          if (wanted(message)) return finish(undefined, message);
        }
      } catch (error) {
        finish(error as Error);
      }
    };
    const onClose = () => finish(new Error(`the WebSocket closed; messages seen: ${seen}`));
    // A deadline rather than jest's timeout, to say what did arrive.
    const timer = setTimeout(
      () => finish(new Error(`no wanted message within 15 s; messages seen: ${seen}`)),
      15000,
    );
    socket.on("data", onData);
    socket.on("close", onClose);
    onData(Buffer.alloc(0));
  });
}

/**
 * Sets up `folder` as the image sets up /usr/local/etc/jupyter, a folder on the server's config
 * path: its jupyter_server_config.py, and the start hook sourced with PASSWORD (and with the
 * server's python first on PATH), which writes the password beside it.
 */
function imageConfigFolder(folder: string, password: string): void {
  fs.copyFileSync(
    path.join(IMAGE_DIR, "jupyter_server_config.py"),
    path.join(folder, "jupyter_server_config.py"),
  );
  const bin = path.join(folder, "..", "bin");
  fs.mkdirSync(bin);
  // A wrapper, not a symlink: a virtual environment's python finds its packages from its path.
  fs.writeFileSync(path.join(bin, "python3"), `#!/bin/sh\nexec ${jupyterPython()} "$@"\n`, {
    mode: 0o755,
  });
  const hook = run(
    "bash",
    [
      "-c",
      'export PASSWORD="$HOOK_PASSWORD"; unset HOOK_PASSWORD; source "$0"',
      path.join(IMAGE_DIR, "dropstack-password.sh"),
    ],
    undefined,
    {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      HOOK_PASSWORD: password,
      DROPSTACK_JUPYTER_CONFIG_DIR: folder,
    },
  );
  if (hook.status !== 0 || !hook.output.includes("password set"))
    throw new Error(`the password hook failed: ${hook.output}`);
}

describe("the front proxy, live with Caddy in front of jupyter_server", () => {
  let dir = "";
  const children: Child[] = [];
  let caPem = "";
  let site = "";
  let plainSite = "";
  let jupyterUrl = "";

  /** What to add to a failure's message: the servers that died, and how. */
  function diagnostics(): string {
    return children
      .filter((child) => child.exited)
      .map((child) => `\n${child.name} ${child.exited}\n${tail(child)}`)
      .join("");
  }

  async function send(url: string, options: RequestOptions = {}): Promise<Reply> {
    try {
      return await request(url, { ca: [caPem], ...options });
    } catch (error) {
      throw new Error(`${url}: ${(error as Error).message}${diagnostics()}`, { cause: error });
    }
  }

  /** Logs in through `base` as the login form does; returns what later requests need. */
  async function login(base: string, password: string) {
    const page = await send(`${base}/login`);
    const xsrf = cookiesOf(page).find((cookie) => cookie.name === "_xsrf");
    if (!xsrf) throw new Error(`GET /login set no _xsrf cookie: ${page.headers["set-cookie"]}`);
    const reply = await send(`${base}/login`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Cookie: `_xsrf=${xsrf.value}`,
      },
      body: new URLSearchParams({ password, _xsrf: xsrf.value }).toString(),
    });
    const loginCookie = cookiesOf(reply).find((cookie) => cookie.name.startsWith("username-"));
    const cookieHeader = [xsrf, ...(loginCookie ? [loginCookie] : [])]
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join("; ");
    return { reply, loginCookie, headers: { Cookie: cookieHeader, "X-XSRFToken": xsrf.value } };
  }

  /** The upgrade a browser's `new WebSocket(url)` makes, trusting only the stack's CA. */
  function openWebSocket(url: string, headers: http.OutgoingHttpHeaders, key: string) {
    return new Promise<{ res: http.IncomingMessage; socket: Duplex; head: Buffer }>(
      (resolve, reject) => {
        const req = https.request(url, {
          ca: [caPem],
          servername: "localhost",
          agent: false,
          headers: {
            ...headers,
            Connection: "Upgrade",
            Upgrade: "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key,
          },
        });
        req.setTimeout(15000, () => req.destroy(new Error(`${url}: no answer within 15 s`)));
        req.on("upgrade", (res, socket, head) => {
          // The timeout was for the handshake; an open WebSocket may idle.
          socket.setTimeout(0);
          resolve({ res, socket, head });
        });
        req.on("response", (res) => {
          res.resume();
          reject(
            new Error(`the WebSocket upgrade got ${res.statusCode} ${res.statusMessage}, not 101`),
          );
        });
        req.on("error", (error) =>
          reject(new Error(`${error.message}${diagnostics()}`, { cause: error })),
        );
        req.end();
      },
    );
  }

  beforeAll(
    async () => {
      if (liveTest !== test) return;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-proxy-live-"));
      const sub = (...parts: string[]) => {
        const made = path.join(dir, ...parts);
        fs.mkdirSync(made, { recursive: true });
        return made;
      };
      const home = sub("home");

      const ca = makeCa(sub("ca"), "dropstack proxy-live root CA");
      caPem = ca.pem;
      // The stand-in for the image's /usr/local/etc/jupyter, on the config path as that is.
      const imageConfig = sub("image", "etc-jupyter");
      imageConfigFolder(imageConfig, PASSWORD);
      const [jupyterPort, httpPort, httpsPort] = await freePorts(3);
      jupyterUrl = `http://127.0.0.1:${jupyterPort}`;
      site = `https://localhost:${httpsPort}`;
      plainSite = `http://localhost:${httpPort}`;

      const jupyter = start(
        "jupyter_server",
        jupyterPython()!,
        [
          ...["-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", `--port=${jupyterPort}`],
          `--ServerApp.root_dir=${sub("work")}`,
          // No password or token here: both must come from the image's config folder.
          // A taken port is an error, not a silent move to the next one.
          "--ServerApp.port_retries=0",
          // The image runs it as jovyan; a CI container may run the test as root.
          ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
        ],
        {
          ...process.env,
          HOME: home,
          // The user's own folder (~/.jupyter in the image) is empty; the image's is on the path.
          JUPYTER_CONFIG_DIR: sub("jupyter", "config"),
          JUPYTER_CONFIG_PATH: imageConfig,
          JUPYTER_DATA_DIR: sub("jupyter", "data"),
          JUPYTER_RUNTIME_DIR: sub("jupyter", "runtime"),
          IPYTHONDIR: sub("ipython"),
        },
      );
      children.push(jupyter);

      const caddyfile = path.join(dir, "Caddyfile");
      fs.writeFileSync(
        caddyfile,
        renderCaddyfile({
          certificates: "internal",
          upstreams: [`127.0.0.1:${jupyterPort}`],
          hsts: false,
          ports: { http: httpPort, https: httpsPort },
          caFiles: { cert: ca.cert, key: ca.key },
        }),
      );
      const caddy = start(
        "caddy",
        caddyBinary()!,
        ["run", "--config", caddyfile, "--adapter", "caddyfile"],
        {
          ...process.env,
          [SITE_VARIABLE]: "localhost",
          [CA_VARIABLE]: caId(caPem),
          HOME: home,
          XDG_DATA_HOME: sub("caddy", "data"),
          XDG_CONFIG_HOME: sub("caddy", "config"),
        },
      );
      children.push(caddy);

      await waitUntilAnswering(jupyter, `${jupyterUrl}/api`, {});
      await waitUntilAnswering(caddy, `${site}/api`, { ca: [caPem] });
    },
    2 * STARTUP_MS + 10000,
  );

  afterAll(async () => {
    await Promise.all(children.map(stop));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30000);

  liveTest("redirects plain HTTP to the same path over HTTPS", async () => {
    const reply = await send(`${plainSite}/tree`);
    // No port in the Location: Caddy takes https_port for the container's own port and the
    // browser's for 443, as on the node, which publishes 443 as 443.
    expect({ status: reply.status, location: reply.headers.location }).toEqual({
      status: 308,
      location: "https://localhost/tree",
    });
  });

  liveTest("serves the login page with a certificate from the stack's CA only", async () => {
    const reply = await send(`${site}/login`);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain("<title>Jupyter Server</title>");
    expect(reply.body).toContain('id="password_input"');
    // "Password or token" would mean the hook's password did not replace the token.
    expect(reply.body).toContain("<strong>Password:</strong>");

    const leaf = reply.certificate!;
    expect(leaf.subjectaltname).toContain("DNS:localhost");
    let root = leaf;
    while (root.issuerCertificate && root.issuerCertificate !== root) root = root.issuerCertificate;
    expect(root.fingerprint256).toBe(new crypto.X509Certificate(caPem).fingerprint256);

    // Without the CA, nothing else on this machine vouches for the certificate.
    const untrusted = await request(`${site}/login`).then(
      () => "accepted",
      (error) => error.code,
    );
    expect(["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN"]).toContain(untrusted);
  });

  liveTest("logs in with the hook's password and marks the login cookie Secure", async () => {
    // Straight to jupyter_server over HTTP first: not Secure, so the attribute below comes from
    // the proxy's header and not from a setting that always sets it. First, in case the server
    // keeps `secure` in shared cookie options once an HTTPS login has set it (1.23 does).
    const direct = await login(jupyterUrl, PASSWORD);
    expect(direct.loginCookie?.name).toMatch(/^username-/);
    expect(direct.loginCookie?.attributes).not.toContain("secure");

    const { reply, loginCookie } = await login(site, PASSWORD);
    expect(reply.status).toBe(302);
    expect(loginCookie?.name).toMatch(/^username-/);
    // jupyter_server sees plain HTTP from Caddy: the cookie is Secure only if it trusted Caddy's
    // X-Forwarded-Proto (trust_xheaders in the image's jupyter_server_config.py).
    expect(loginCookie?.header).toMatch(/;\s*Secure(;|$)/i);

    const wrong = await login(site, "wrong password");
    expect(wrong.loginCookie).toBeUndefined();
  });

  liveTest("starts a kernel and talks to it over a WebSocket through the proxy", async () => {
    const session = await login(site, PASSWORD);
    expect(session.loginCookie).toBeDefined();
    const created = await send(`${site}/api/kernels`, {
      method: "POST",
      headers: { ...session.headers, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "python3" }),
    });
    expect({ status: created.status, body: created.body }).toEqual({
      status: 201,
      body: expect.stringContaining('"id"'),
    });
    const kernel: string = JSON.parse(created.body).id;
    try {
      const sessionId = crypto.randomUUID();
      const key = crypto.randomBytes(16).toString("base64");
      const { res, socket, head } = await openWebSocket(
        `${site}/api/kernels/${kernel}/channels?session_id=${sessionId}`,
        // What a browser sends; jupyter_server refuses an Origin that is not its Host.
        { Origin: site, Cookie: session.headers.Cookie },
        key,
      );
      try {
        expect(res.statusCode).toBe(101);
        expect(res.headers["sec-websocket-accept"]).toBe(
          crypto
            .createHash("sha1")
            .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
            .digest("base64"),
        );

        // Jupyter's JSON wire format for WebSockets: a message plus the channel it goes on.
        const msgId = crypto.randomUUID();
        const kernelInfo = {
          header: {
            msg_id: msgId,
            username: "test",
            session: sessionId,
            msg_type: "kernel_info_request",
            version: "5.3",
            date: new Date().toISOString(),
          },
          parent_header: {},
          metadata: {},
          content: {},
          channel: "shell",
        };
        const replied = receive(
          socket,
          head,
          (message) => message.parent_header?.msg_id === msgId && message.channel === "shell",
        );
        socket.write(clientFrame(0x1, Buffer.from(JSON.stringify(kernelInfo))));
        const reply = await replied;
        expect(reply.msg_type).toBe("kernel_info_reply");
        expect(reply.content.status).toBe("ok");
        expect(reply.content.implementation).toBe("ipython");
        // A close frame with 1000, as a browser closing the tab would send.
        socket.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
      } finally {
        socket.destroy();
      }
    } finally {
      const deleted = await send(`${site}/api/kernels/${kernel}`, {
        method: "DELETE",
        headers: session.headers,
      });
      expect(deleted.status).toBe(204);
    }
  });
});
