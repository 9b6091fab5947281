// The environment variables Docker Cloud gave linked containers, as legacy `--link` did:
// https://docs.docker.com/engine/network/links/#environment-variables
import { ServiceSpec } from "./types";

/** Link variables for `service`, computed from the services it links to. */
export function linkEnvironment(
  service: ServiceSpec,
  services: ServiceSpec[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const link of service.links) {
    const target = services.find((s) => s.name === link.service);
    if (!target) continue;
    const prefix = link.alias.toUpperCase().replace(/[^A-Z0-9]/g, "_");
    const ports = [
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
