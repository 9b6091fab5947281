// Decides whether a stack gets the HTTPS front proxy, which service it fronts and how it gets its
// certificate, and rewrites the Stackfile's spec so the proxy, not the web service, takes port
// 80. Pure, so the program, `dropstack proxy` and `dropstack validate` agree.
import type { DropstackConfig } from "../config";
import type { ServiceSpec, StackSpec } from "../stackfile";
import { CertificateSource, ProxyConfig, renderCaddyfile } from "./caddy";

export interface ProxyPlan {
  /** The web service: the one the Stackfile publishes on port 80. */
  service: string;
  /** The container port the proxy forwards to. */
  port: number;
  /** Where the certificate comes from. */
  certificates: CertificateSource;
  /** The Caddyfile. */
  caddyfile: string;
  /** The spec to deploy: the web service's port 80 is no longer published, only exposed. */
  spec: StackSpec;
}

/** Thrown for a Stackfile the proxy cannot front; the message says what to change. */
export class ProxyError extends Error {}

/**
 * The proxy for this stack, or undefined when it has none: `tls: off`, `auto` on the local target
 * (no public certificate exists for localhost), or no service published on port 80.
 */
export function planProxy(
  config: Pick<DropstackConfig, "target" | "tls" | "domain">,
  spec: StackSpec,
  overrides: Pick<ProxyConfig, "acmeDirectory" | "ports" | "caFiles"> = {},
): ProxyPlan | undefined {
  if (config.tls === "off" || (config.target === "local" && config.tls === "auto"))
    return undefined;
  const web = spec.services.find((svc) => svc.ports.some(isWebPort));
  if (web === undefined) return undefined;

  const why = `the HTTPS proxy (dropstack:tls ${config.tls}) takes ports 80 and 443`;
  const problems: string[] = [];
  if (web.networkMode === "host") {
    problems.push(
      `service "${web.name}" uses net: host, so it binds port 80 on the node itself and ${why}; ` +
        "remove net: host, or set dropstack:tls off",
    );
  }
  for (const svc of spec.services) {
    for (const p of svc.ports.filter((p) => p.host === 443 && p.protocol === "tcp")) {
      problems.push(
        `service "${svc.name}" publishes 443:${p.container}, but ${why}; publish it on another port, ` +
          "or set dropstack:tls off",
      );
    }
  }
  if (problems.length > 0) throw new ProxyError(problems.join("\n"));

  const published = web.ports.find(isWebPort)!;
  const certificates: CertificateSource =
    config.tls === "internal" ? "internal" : config.domain !== "" ? "acme-domain" : "acme-ip";
  const upstreams = Array.from(
    { length: web.replicas },
    (_, i) => `${web.name}-${i + 1}:${published.container}`,
  );
  return {
    service: web.name,
    port: published.container,
    certificates,
    caddyfile: renderCaddyfile({
      certificates,
      upstreams,
      hsts: certificates !== "internal",
      ...overrides,
    }),
    spec: {
      ...spec,
      services: spec.services.map((svc) => (svc === web ? unpublished(svc) : svc)),
    },
  };
}

function isWebPort(p: ServiceSpec["ports"][number]): boolean {
  return p.host === 80 && p.protocol === "tcp";
}

/** The service with port 80 turned into an exposed port: link variables stay the same. */
function unpublished(svc: ServiceSpec): ServiceSpec {
  const web = svc.ports.find(isWebPort)!;
  const exposed = svc.expose.some((e) => e.port === web.container && e.protocol === "tcp");
  return {
    ...svc,
    ports: svc.ports.filter((p) => p !== web),
    expose: exposed ? svc.expose : [...svc.expose, { port: web.container, protocol: "tcp" }],
  };
}
