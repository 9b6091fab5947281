// The front proxy's ACME certificates, live on loopback: the Caddyfile `pulumi up` gives the node,
// run by the Caddy release the node runs, against Pebble, Let's Encrypt's test ACME server, in
// Let's Encrypt's place. dropstack's default is a certificate for the droplet's bare IP address,
// which Let's Encrypt issues only in its `shortlived` profile: this measures that Caddy obtains
// one for an IP address (RFC 8738) and asks for that profile, and that a domain name still gets
// one through the default profile.
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { CertificateSource, renderCaddyfile, SITE_VARIABLE } from "../proxy/caddy";
import { caddyBinary, testWithCaddy } from "./caddy";
import { pebbleDir, testWithPebble } from "./pebble";
import {
  Child,
  freePorts,
  httpRequest,
  makeCa,
  signCertificate,
  start,
  stop,
  tail,
} from "./servers";
import type { Reply } from "./servers";
import { testWithAll, testWithTool } from "./tools";

/** A name under .test (RFC 6761), which only the test's DNS server answers, with 127.0.0.1. */
const DOMAIN = "notebooks.dropstack.test";
const UPSTREAM_BODY = "hello from upstream";
/** Let's Encrypt's profiles as Pebble gets them: 90 days, and shortlived's 160 hours. */
const DEFAULT_PROFILE = {
  description: "90 days, as Let's Encrypt's classic",
  validityPeriod: 7776000,
};
const SHORTLIVED_PROFILE = { description: "160 hours, as Let's Encrypt's", validityPeriod: 576000 };
/** How long a server may take to come up, and Caddy to obtain a certificate: generous, since a
 * slow CI machine is no failure. Waiting only; nothing is timed. */
const STARTUP_MS = 15000;
const CERTIFICATE_MS = 25000;

// A skip, or under CI=true a failure, naming what is missing.
const acmeTest = testWithAll(
  testWithCaddy(),
  testWithPebble(),
  testWithTool("openssl", ["version"]),
);

/** Resolves once something accepts TCP connections on the loopback port. */
function connect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve();
    });
    socket.on("error", reject);
  });
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

async function close(server: net.Server): Promise<void> {
  if (!server.listening) return;
  (server as http.Server).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

/** GET `url`; for HTTPS, trusting only `ca`. A `host` is the Host header, the SNI and the name
 * the certificate must have. */
function get(url: string, options: { ca?: string[]; host?: string } = {}): Promise<Reply> {
  return httpRequest(url, {
    ca: options.ca,
    headers: options.host ? { Host: options.host } : undefined,
    servername: options.host,
  });
}

/** What an ACME client asked for in a newOrder request (RFC 8555 7.4). */
interface OrderRequest {
  identifiers: { type: string; value: string }[];
  profile?: string;
}

/** The payload of a flattened JWS (RFC 7515 7.2.2), as the ACME client sent it. */
function jwsPayload(body: Buffer): any {
  try {
    const payload = JSON.parse(body.toString()).payload;
    return payload ? JSON.parse(Buffer.from(payload, "base64url").toString()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An HTTPS relay in front of Pebble that notes each newOrder Caddy sends. Pebble picks a random
 * profile for an order that names none, so only the request itself shows whether Caddy asked for
 * one. The Host header passes through, so Pebble's URLs keep pointing at the relay.
 */
function orderTap(
  files: { cert: string; key: string; ca: string },
  pebblePort: number,
): { server: https.Server; orders: OrderRequest[] } {
  const orders: OrderRequest[] = [];
  const ca = fs.readFileSync(files.ca, "utf8");
  const server = https.createServer(
    { cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const payload = jwsPayload(body);
        if (Array.isArray(payload?.identifiers)) {
          orders.push({ identifiers: payload.identifiers, profile: payload.profile });
        }
        const forward = https.request(
          {
            host: "127.0.0.1",
            port: pebblePort,
            method: req.method,
            path: req.url,
            headers: req.headers,
            ca,
            agent: false,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on("error", (error) => {
          if (res.headersSent) res.destroy(error);
          else res.writeHead(502).end(`relay: ${error.message}`);
        });
        forward.end(body);
      });
    },
  );
  return { server, orders };
}

/**
 * Retries `attempt` until it succeeds; fails at the deadline, or as soon as a watched server dies,
 * with the tails of their output and `more()`.
 */
async function waitFor<T>(
  what: string,
  watched: Child[],
  ms: number,
  attempt: () => Promise<T>,
  more: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + ms;
  const diagnostics = () => `${watched.map(tail).join("")}${more()}`;
  for (;;) {
    const died = watched.find((child) => child.exited);
    if (died) throw new Error(`${died.name} ${died.exited} before ${what}${diagnostics()}`);
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`${what} did not happen within ${ms} ms${diagnostics()}`, {
          cause: error,
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** One Caddy with its own Pebble: Pebble validates on one HTTP and one TLS port, Caddy's. */
interface AcmeRun {
  site: string;
  ports: { http: number; https: number };
  pebble: Child;
  caddy: Child;
  orders: OrderRequest[];
  /** Pebble's issuing root, made afresh by each Pebble: the only certificate the checks trust. */
  root: string;
}

describe("the front proxy's ACME certificates, live with Caddy and Pebble", () => {
  let dir = "";
  const children: Child[] = [];
  const servers: net.Server[] = [];
  const runs: Partial<Record<"ip" | "domain", AcmeRun>> = {};

  beforeAll(
    async () => {
      if (acmeTest !== test) return;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-proxy-acme-"));
      const sub = (...parts: string[]) => {
        const made = path.join(dir, ...parts);
        fs.mkdirSync(made, { recursive: true });
        return made;
      };
      // Pebble's own HTTPS listener, as a server Caddy must trust to reach its directory.
      const pebbleCa = makeCa(sub("pki"), "dropstack ACME test server CA");
      const serverFiles = {
        ...signCertificate(pebbleCa, sub("pki"), "DNS:localhost,IP:127.0.0.1"),
        ca: pebbleCa.cert,
      };
      const serverCa = pebbleCa.pem;
      const pebbleBin = pebbleDir()!;
      const [upstreamPort, dnsPort, dnsManagementPort, ...runPorts] = await freePorts(3 + 2 * 5);

      const upstream = http.createServer((_req, res) => res.end(UPSTREAM_BODY));
      servers.push(upstream);
      await listen(upstream, upstreamPort);

      // The DNS server Pebble asks, and only Pebble: every A query gets 127.0.0.1, and nothing
      // else it could serve is left listening, nor anything on other addresses.
      const dns = start(
        "pebble-challtestsrv",
        path.join(pebbleBin, "pebble-challtestsrv"),
        [
          ...["-http01=", "-https01=", "-tlsalpn01=", "-doh="],
          `-dnsserver=127.0.0.1:${dnsPort}`,
          `-management=127.0.0.1:${dnsManagementPort}`,
          "-defaultIPv4=127.0.0.1",
          "-defaultIPv6=",
        ],
        { PATH: process.env.PATH },
      );
      children.push(dns);
      await waitFor("the DNS server listening", [dns], STARTUP_MS, () => connect(dnsPort));

      const startRun = async (
        name: "ip" | "domain",
        certificates: CertificateSource,
        site: string,
        profiles: Record<string, { description: string; validityPeriod: number }>,
        [pebblePort, managementPort, tapPort, httpPort, httpsPort]: number[],
      ) => {
        const config = path.join(sub(name), "pebble-config.json");
        fs.writeFileSync(
          config,
          JSON.stringify({
            pebble: {
              listenAddress: `127.0.0.1:${pebblePort}`,
              managementListenAddress: `127.0.0.1:${managementPort}`,
              certificate: serverFiles.cert,
              privateKey: serverFiles.key,
              // Where Pebble validates challenges: this run's Caddy.
              httpPort,
              tlsPort: httpsPort,
              ocspResponderURL: "",
              externalAccountBindingRequired: false,
              keyAlgorithm: "ecdsa",
              profiles,
            },
          }),
        );
        const pebble = start(
          `pebble (${name})`,
          path.join(pebbleBin, "pebble"),
          // -strict=false, as Pebble's README asks of integration tests, for a stable protocol.
          ["-config", config, "-dnsserver", `127.0.0.1:${dnsPort}`, "-strict=false"],
          {
            PATH: process.env.PATH,
            // Validate at once, never reject a good nonce, and never reuse an authorization.
            PEBBLE_VA_NOSLEEP: "1",
            PEBBLE_WFE_NONCEREJECT: "0",
            PEBBLE_AUTHZREUSE: "0",
          },
        );
        children.push(pebble);
        const management = `https://127.0.0.1:${managementPort}`;
        const root = await waitFor(`${pebble.name}'s root`, [pebble], STARTUP_MS, async () => {
          const reply = await get(`${management}/roots/0`, { ca: [serverCa] });
          if (reply.status !== 200) throw new Error(`/roots/0 answered ${reply.status}`);
          return reply.body;
        });

        const tap = orderTap(serverFiles, pebblePort);
        servers.push(tap.server);
        await listen(tap.server, tapPort);

        const caddyfile = path.join(sub(name), "Caddyfile");
        fs.writeFileSync(
          caddyfile,
          renderCaddyfile({
            certificates,
            upstreams: [`127.0.0.1:${upstreamPort}`],
            hsts: true,
            acmeDirectory: { url: `https://127.0.0.1:${tapPort}/dir`, rootPem: serverFiles.ca },
            ports: { http: httpPort, https: httpsPort },
          }),
        );
        // Fresh storage: no account, certificate or authorization from an earlier run.
        const caddy = start(
          `caddy (${name})`,
          caddyBinary()!,
          ["run", "--adapter", "caddyfile", "--config", caddyfile],
          {
            PATH: process.env.PATH,
            [SITE_VARIABLE]: site,
            HOME: sub(name, "home"),
            XDG_DATA_HOME: sub(name, "data"),
            XDG_CONFIG_HOME: sub(name, "config"),
          },
        );
        children.push(caddy);
        runs[name] = {
          site,
          ports: { http: httpPort, https: httpsPort },
          pebble,
          caddy,
          orders: tap.orders,
          root,
        };
      };

      await Promise.all([
        // Let's Encrypt offers both profiles; Caddy must ask for shortlived.
        startRun(
          "ip",
          "acme-ip",
          "127.0.0.1",
          { default: DEFAULT_PROFILE, shortlived: SHORTLIVED_PROFILE },
          runPorts.slice(0, 5),
        ),
        // Pebble would answer an order that names no profile with a random one, where Let's
        // Encrypt uses its default: offering only the default makes the outcome Let's Encrypt's,
        // and an order for shortlived fail outright.
        startRun("domain", "acme-domain", DOMAIN, { default: DEFAULT_PROFILE }, runPorts.slice(5)),
      ]);
    },
    2 * STARTUP_MS + 10000,
  );

  afterAll(async () => {
    await Promise.all(children.map(stop));
    await Promise.all(servers.map(close));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30000);

  /** The site over HTTPS once Caddy has its certificate, trusting only Pebble's root. */
  async function fetchSite(acmeRun: AcmeRun): Promise<Reply> {
    const { site, ports, root, caddy, pebble, orders } = acmeRun;
    // An IP address is sent as no SNI at all: Caddy then picks the certificate by the address
    // the connection reached, here 127.0.0.1, the site itself.
    const host = net.isIP(site) ? undefined : site;
    return waitFor(
      `a certificate for ${site} from Pebble`,
      [caddy, pebble],
      CERTIFICATE_MS,
      () => get(`https://127.0.0.1:${ports.https}/`, { ca: [root], host }),
      () => `\n--- newOrder requests Caddy sent: ${JSON.stringify(orders)}`,
    );
  }

  function validityHours(certificate: tls.PeerCertificate): number {
    return (Date.parse(certificate.valid_to) - Date.parse(certificate.valid_from)) / 3600000;
  }

  acmeTest(
    "obtains a certificate for the IP address in the shortlived profile",
    async () => {
      const acmeRun = runs.ip!;
      const reply = await fetchSite(acmeRun);
      const certificate = reply.certificate!;
      expect({
        status: reply.status,
        body: reply.body,
        hsts: reply.headers["strict-transport-security"],
        subjectAltName: certificate.subjectaltname,
        // Pebble makes a certificate one second shorter than its profile's period.
        validityHours: Math.round(validityHours(certificate)),
      }).toEqual({
        status: 200,
        body: UPSTREAM_BODY,
        hsts: "max-age=31536000",
        subjectAltName: "IP Address:127.0.0.1",
        validityHours: 160,
      });
      // What Caddy asked for, not what Pebble chose: every order named the profile.
      expect(acmeRun.orders.length).toBeGreaterThan(0);
      expect(acmeRun.orders).toEqual(
        acmeRun.orders.map(() => ({
          identifiers: [{ type: "ip", value: "127.0.0.1" }],
          profile: "shortlived",
        })),
      );
    },
    CERTIFICATE_MS + 10000,
  );

  acmeTest(
    "serves that certificate to a browser that reaches the node at another address, with no SNI",
    async () => {
      const acmeRun = runs.ip!;
      await fetchSite(acmeRun);
      // On a node, Docker's published port hands Caddy connections addressed to the container,
      // not to the droplet's public IP; a browser sends no SNI for an IP address. 127.0.0.2 plays
      // the container's address: Caddy must pick the IP certificate all the same (default_sni).
      const reply = await new Promise<{ status?: number; san?: string }>((resolve, reject) => {
        const req = https.get(
          {
            host: "127.0.0.2",
            port: acmeRun.ports.https,
            path: "/",
            agent: false,
            ca: [acmeRun.root],
            headers: { Host: acmeRun.site },
            // The browser checks the certificate against the address it typed.
            checkServerIdentity: (_host, certificate) =>
              tls.checkServerIdentity(acmeRun.site, certificate),
          },
          (res) => {
            res.resume();
            const san = (res.socket as tls.TLSSocket).getPeerCertificate().subjectaltname;
            resolve({ status: res.statusCode, san });
          },
        );
        req.on("error", (error) =>
          reject(new Error(`${error.message}${tail(acmeRun.caddy)}`, { cause: error })),
        );
      });
      expect(reply).toEqual({ status: 200, san: "IP Address:127.0.0.1" });
    },
    CERTIFICATE_MS + 10000,
  );

  acmeTest(
    "obtains a certificate for a domain name in the default profile",
    async () => {
      const acmeRun = runs.domain!;
      const reply = await fetchSite(acmeRun);
      const certificate = reply.certificate!;
      expect({
        status: reply.status,
        body: reply.body,
        hsts: reply.headers["strict-transport-security"],
        subjectAltName: certificate.subjectaltname,
        validityHours: Math.round(validityHours(certificate)),
      }).toEqual({
        status: 200,
        body: UPSTREAM_BODY,
        hsts: "max-age=31536000",
        subjectAltName: `DNS:${DOMAIN}`,
        validityHours: 90 * 24,
      });
      expect(acmeRun.orders.length).toBeGreaterThan(0);
      expect(acmeRun.orders).toEqual(
        acmeRun.orders.map(() => ({
          identifiers: [{ type: "dns", value: DOMAIN }],
          profile: undefined,
        })),
      );
    },
    CERTIFICATE_MS + 10000,
  );

  acmeTest("redirects plain HTTP to the same path over HTTPS", async () => {
    for (const acmeRun of [runs.ip!, runs.domain!]) {
      const host = net.isIP(acmeRun.site) ? undefined : acmeRun.site;
      const reply = await get(`http://127.0.0.1:${acmeRun.ports.http}/tree?x=1`, { host });
      // No port in the Location: Caddy takes https_port for the container's own port and the
      // browser's for 443, as on the node, which publishes 443 as 443.
      expect({
        site: acmeRun.site,
        status: reply.status,
        location: reply.headers.location,
      }).toEqual({ site: acmeRun.site, status: 308, location: `https://${acmeRun.site}/tree?x=1` });
    }
  });
});
