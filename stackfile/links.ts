// The environment variables Docker Cloud gave linked containers, as legacy `--link` did:
// https://docs.docker.com/engine/network/links/#environment-variables
import { Protocol, ServiceSpec } from "./types";

/** A port a container listens on. */
export interface ExposedPort {
  port: number;
  protocol: Protocol;
}

/**
 * Link variables for `service`, computed from the services it links to: the ports their
 * Stackfile entries list, and those their images expose (`imagePorts`, by service name), as
 * Docker's links and Docker Cloud did.
 */
export function linkEnvironment(
  service: ServiceSpec,
  services: ServiceSpec[],
  imagePorts: Record<string, ExposedPort[]> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const link of service.links) {
    const target = services.find((s) => s.name === link.service);
    if (!target) continue;
    const prefix = link.alias.toUpperCase().replace(/[^A-Z0-9]/g, "_");
    const ports = [
      ...(imagePorts[target.name] ?? []),
      ...target.expose.map((e) => ({ port: e.port, protocol: e.protocol })),
      ...target.ports.map((p) => ({ port: p.container, protocol: p.protocol })),
    ].filter(
      (p, i, all) => all.findIndex((q) => q.port === p.port && q.protocol === p.protocol) === i,
    );
    ports.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
    for (let n = 0; n <= target.replicas; n++) {
      // n = 0 is the service-wide name (`DB_…`); n >= 1 the container (`DB_1_…`).
      const name = n === 0 ? prefix : `${prefix}_${n}`;
      const host = n === 0 ? link.alias : `${link.alias}-${n}`;
      if (ports.length > 0) env[`${name}_PORT`] = `${ports[0].protocol}://${host}:${ports[0].port}`;
      for (const p of ports) {
        const base = `${name}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
        env[base] = `${p.protocol}://${host}:${p.port}`;
        env[`${base}_ADDR`] = host;
        env[`${base}_PORT`] = String(p.port);
        env[`${base}_PROTO`] = p.protocol;
      }
      for (const [k, v] of Object.entries(target.environment)) env[`${name}_ENV_${k}`] = v;
    }
  }
  return env;
}

/** The aliases other services link to `service` by, besides its own name. */
export function aliasesOf(service: ServiceSpec, services: ServiceSpec[]): string[] {
  return [
    ...new Set(
      services.flatMap((s) =>
        s.links
          .filter((l) => l.service === service.name && l.alias !== service.name)
          .map((l) => l.alias),
      ),
    ),
  ];
}

/** The services some other service links to: their images' exposed ports matter. */
export function linkTargets(services: ServiceSpec[]): ServiceSpec[] {
  return services.filter((t) => services.some((s) => s.links.some((l) => l.service === t.name)));
}

/**
 * The ports in the output of `scripts/image-inspect.sh` (`3306/tcp 33060/tcp `, from the image's
 * Config.ExposedPorts). SCTP ports are left out: links never named them. Throws on any other
 * word, so a changed format is never read as "no ports".
 */
export function parseExposedPorts(text: string): ExposedPort[] {
  const ports: ExposedPort[] = [];
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    const match = /^(\d{1,5})\/(tcp|udp|sctp)$/.exec(word);
    if (!match) throw new Error(`not an exposed port: ${JSON.stringify(word)}`);
    if (match[2] !== "sctp") ports.push({ port: Number(match[1]), protocol: match[2] as Protocol });
  }
  return ports;
}
