// What `pulumi up` warns about before it creates anything, in one place, so `dropstack validate
// --stack NAME` shows exactly the same warnings.
import type { DropstackConfig } from ".";
import { liveDatabaseWarnings, swarmService } from "../stackfile";
import type { StackSpec } from "../stackfile";

/** The ports the cloud firewall opens to the world; SSH is opened to `sshSourceCidrs` only. */
export const PUBLIC_PORTS = ["80", "443"];

/**
 * The published host port a person opens in a browser: 80 when published; locally, else the
 * first fixed TCP port. On a node only 80 counts: the cloud firewall closes every other port.
 */
export function webPort(spec: StackSpec, target: DropstackConfig["target"]): number | undefined {
  const ports = spec.services
    .flatMap((svc) => svc.ports)
    .filter((p) => p.protocol === "tcp" && p.host !== undefined);
  if (ports.some((p) => p.host === 80)) return 80;
  return target === "local" ? ports[0]?.host : undefined;
}

/** The config's own warnings, then what the Stackfile means on this stack's target. */
export function stackWarnings(
  config: Pick<DropstackConfig, "target" | "warnings" | "nodes"> &
    Partial<Pick<DropstackConfig, "dataBackups">>,
  spec: StackSpec,
): string[] {
  const warnings = [...config.warnings];
  if ((config.dataBackups ?? "off") !== "off" && config.target === "digitalocean")
    warnings.push(...liveDatabaseWarnings(spec.services));
  if (config.nodes > 1) {
    for (const svc of spec.services.filter((s) => swarmService(s, spec.services).onDataNode)) {
      warnings.push(
        `service "${svc.name}" keeps its data on the first node's data volume, so Swarm runs it ` +
          "on that node only: it does not move if that node fails",
      );
    }
  }
  if (config.target !== "digitalocean") return warnings;
  let closed = 0;
  for (const svc of spec.services) {
    for (const p of svc.ports) {
      if (p.host !== undefined && p.protocol === "tcp" && PUBLIC_PORTS.includes(String(p.host)))
        continue;
      closed++;
      warnings.push(
        `service "${svc.name}" publishes ${p.host ?? "an ephemeral port"}:${p.container}/${p.protocol}, but the ` +
          "node's cloud firewall opens only 80 and 443 to the world: reach it through an SSH tunnel " +
          `(sshCommand plus -L <local port>:localhost:<port>), or publish it on 80`,
      );
    }
  }
  if (closed > 0 && webPort(spec, config.target) === undefined) {
    warnings.push(
      'no service publishes port 80, so the stack has no url output; publish the web service as "80:<its port>"',
    );
  }
  return warnings;
}
