// The node's front proxy: Caddy, for its automatic ACME (Let's Encrypt, renewals on its own),
// HTTP to HTTPS redirects and WebSocket pass-through (Jupyter's kernels) with no configuration.
// Its Caddyfile comes from one pure function, so `dropstack proxy --stack NAME` prints exactly
// what the node runs and the tests hand exactly that to `caddy validate`.
import { createHash } from "crypto";

/** The Caddy release the node runs; `scripts/caddy/build.sh` builds the same one for the tests. */
export const CADDY_VERSION = "2.11.9";
/** Docker Hub's official image of that release. */
export const CADDY_IMAGE = `caddy:${CADDY_VERSION}`;

/** Where the proxy container finds its files. */
export const PROXY_PATHS = {
  caddyfile: "/etc/caddy/Caddyfile",
  /** Certificates, keys and the ACME account: on the node's data volume. */
  data: "/data",
  /** Caddy's autosaved JSON config; kept beside the data. */
  config: "/config",
  /** The root of the `internal` CA, made by `pulumi up` so its certificate can be trusted. */
  caCert: "/etc/caddy/ca/root.crt",
  caKey: "/etc/caddy/ca/root.key",
} as const;

/**
 * The environment variable that carries the site's address (a domain, the node's IP address or
 * localhost) into the container: the Caddyfile names it as `{$DROPSTACK_SITE}`, so the file
 * depends only on the stack's config and Stackfile, never on the address DigitalOcean assigns.
 */
export const SITE_VARIABLE = "DROPSTACK_SITE";

/**
 * The environment variable that names the `internal` CA in Caddy (`caId`). Caddy keeps the
 * intermediate it makes and the certificates it signs under that name on the data volume; a new
 * root (a stack destroyed and brought up again on its kept volume) gets a new name, so it never
 * meets an intermediate signed by the old one, which no browser given the new root would trust.
 */
export const CA_VARIABLE = "DROPSTACK_CA";

/** The `internal` CA's name in Caddy: from its root certificate, so a new root is a new CA. */
export function caId(rootCertPem: string): string {
  return `dropstack-${createHash("sha256").update(rootCertPem).digest("hex").slice(0, 12)}`;
}

/** How the proxy gets its certificate. */
export type CertificateSource =
  /** Let's Encrypt for a domain name (ZeroSSL as Caddy's fallback). */
  | "acme-domain"
  /** Let's Encrypt for the node's IP address: only its `shortlived` profile (160 h) allows it. */
  | "acme-ip"
  /** The stack's own CA (`tls: internal`), whose root `pulumi up` makes and exports. */
  | "internal";

export interface ProxyConfig {
  /** Where the certificate comes from. */
  certificates: CertificateSource;
  /** The web service's containers, `host:port` on the stack network, in replica order. */
  upstreams: string[];
  /** Send HSTS: on for publicly trusted certificates; off for `internal` (a browser would then
   * refuse the site, or localhost, without that CA for a year). */
  hsts: boolean;
  /** An ACME directory other than Let's Encrypt's, with the PEM file of its root: for tests. */
  acmeDirectory?: { url: string; rootPem: string };
  /** Ports other than 80/443 inside the container: for tests on one machine. */
  ports?: { http: number; https: number };
  /** The CA's files elsewhere than in the container: for tests outside it. */
  caFiles?: { cert: string; key: string };
}

/** HSTS for a year; no `preload`, which would outlive the stack. */
const HSTS = "max-age=31536000";

/** The Caddyfile for `config`, tab-indented as `caddy fmt` writes it. */
export function renderCaddyfile(config: ProxyConfig): string {
  if (config.upstreams.length === 0) throw new Error("renderCaddyfile: no upstreams");
  const global: string[] = [
    // Nothing may reconfigure the proxy but a new container.
    "admin off",
    // Stop within Docker's 10 s stop timeout even with kernels' WebSockets open.
    "grace_period 5s",
    // A browser sends no SNI for an IP address, and Caddy then picks a certificate by the
    // address the connection reached: behind Docker's published ports that is the container's,
    // not the node's, and the handshake fails. Without SNI, serve the site's certificate.
    `default_sni {$${SITE_VARIABLE}}`,
    // The cloud firewall opens 443/tcp only: no HTTP/3 over UDP.
    "servers {",
    "\tprotocols h1 h2",
    "}",
  ];
  if (config.ports) {
    global.push(`http_port ${config.ports.http}`, `https_port ${config.ports.https}`);
  }
  if (config.certificates === "internal") {
    global.push(
      // The container has no trust store worth writing to; the CA is exported instead.
      "skip_install_trust",
      "pki {",
      `\tca {$${CA_VARIABLE}} {`,
      "\t\tname dropstack",
      "\t\troot {",
      `\t\t\tcert ${config.caFiles?.cert ?? PROXY_PATHS.caCert}`,
      `\t\t\tkey ${config.caFiles?.key ?? PROXY_PATHS.caKey}`,
      "\t\t}",
      "\t}",
      "}",
    );
  }

  const site: string[] = [];
  if (config.certificates === "internal") {
    site.push("tls {", `\tissuer internal {`, `\t\tca {$${CA_VARIABLE}}`, "\t}", "}");
  } else if (config.certificates === "acme-ip" || config.acmeDirectory) {
    const directory = config.acmeDirectory?.url ?? "https://acme-v02.api.letsencrypt.org/directory";
    site.push("tls {", `\tissuer acme ${directory} {`);
    if (config.acmeDirectory) site.push(`\t\ttrusted_roots ${config.acmeDirectory.rootPem}`);
    if (config.certificates === "acme-ip") site.push("\t\tprofile shortlived");
    site.push("\t}", "}");
  }
  if (config.hsts) site.push(`header Strict-Transport-Security "${HSTS}"`);
  // Caddy passes WebSocket upgrades through and sets X-Forwarded-Proto/For, which the
  // notebook server trusts (trust_xheaders) to mark its cookies Secure.
  site.push(`reverse_proxy ${config.upstreams.join(" ")}`);

  return [
    "# dropstack's front proxy: HTTPS for the stack's web service. Made by `pulumi up`;",
    "# print it with `npx dropstack proxy --stack NAME`. Edits here are lost on the next up.",
    "{",
    ...global.map((line) => `\t${line}`),
    "}",
    "",
    `{$${SITE_VARIABLE}} {`,
    ...site.map((line) => `\t${line}`),
    "}",
    "",
  ].join("\n");
}
