// A droplet's public address: 127.0.0.N, where a forwarder listens on the ports a test can ask
// for and passes each connection to the droplet's container, if the droplet's cloud firewalls
// let it in at that moment. DigitalOcean drops what no rule allows; here the connection is
// reset at once, which a test sees as "does not answer" without waiting for a timeout.
import * as net from "net";
import { DropletRecord, EmulatorState, FirewallRule } from "./state";

/**
 * The ports a droplet answers on at its public address: what dropstack opens (22, 80, 443), what
 * it must never open (Docker's API, Mongo, Jupyter's own port, Swarm's), and a few more.
 */
export const FORWARDED_PORTS = [22, 80, 443, 2375, 2376, 2377, 7946, 8080, 8888, 27017];

/** The firewalls that apply to a droplet: by its ID or by one of its tags. */
export function dropletFirewalls(state: EmulatorState, droplet: DropletRecord) {
  return [...state.firewalls.values()].filter(
    (f) => f.dropletIds.includes(droplet.id) || f.tags.some((t) => droplet.tags.includes(t)),
  );
}

/** Whether `ports` ("22", "8000-8080", "all", "" for all) holds `port`. */
function holds(ports: string, port: number): boolean {
  if (ports === "" || ports === "all" || ports === "0") return true;
  const [low, high = low] = ports.split("-").map(Number);
  return port >= low && port <= high;
}

/** Whether an IPv4 CIDR (or a bare address) holds `address`. */
export function cidrHolds(cidr: string, address: string): boolean {
  const [base, bits = "32"] = cidr.split("/");
  const toInt = (a: string) => a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(base) || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(base) / size) === Math.floor(toInt(address) / size);
}

function ruleAllows(rule: FirewallRule, port: number, from: string): boolean {
  if (rule.protocol !== "tcp" || !holds(rule.ports, port)) return false;
  const addresses = (rule.targets.addresses ?? []) as string[];
  return addresses.some((cidr) => cidrHolds(cidr, from));
}

/**
 * Whether a TCP connection from `from` (an address outside DigitalOcean) to `port` reaches the
 * droplet: with no firewall, everything does; with firewalls, only what an inbound rule allows.
 */
export function firewallAllows(
  state: EmulatorState,
  droplet: DropletRecord,
  port: number,
  from: string,
): boolean {
  const firewalls = dropletFirewalls(state, droplet);
  if (firewalls.length === 0) return true;
  return firewalls.some((f) => f.inbound.some((rule) => ruleAllows(rule, port, from)));
}

/**
 * The address the test's connections come from, as the firewall sees it: an address outside
 * DigitalOcean. A test documentation address (RFC 5737), never dialled.
 */
export const OUTSIDE_ADDRESS = "198.51.100.7";

export interface Forwarder {
  /** Points the forwarder at the droplet's container (its address changes on restart). */
  retarget(address: string): void;
  close(): Promise<void>;
}

/** Listens on `publicAddress` for FORWARDED_PORTS, passing allowed connections to `target`. */
export async function forward(
  publicAddress: string,
  target: string,
  allowed: (port: number) => boolean,
): Promise<Forwarder> {
  let to = target;
  const sockets = new Set<net.Socket>();
  const servers = await Promise.all(
    FORWARDED_PORTS.map(
      (port) =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer((client) => {
            if (!allowed(port)) {
              client.resetAndDestroy();
              return;
            }
            const upstream = net.connect(port, to);
            for (const s of [client, upstream]) {
              sockets.add(s);
              s.on("close", () => sockets.delete(s));
              s.on("error", () => (s === client ? upstream : client).destroy());
            }
            client.pipe(upstream).pipe(client);
          });
          server.once("error", reject);
          server.listen(port, publicAddress, () => resolve(server));
        }),
    ),
  );
  return {
    retarget: (address) => (to = address),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
