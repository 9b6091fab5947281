// The emulated droplets' public side (test/emulator/ports.ts): which connections a droplet's
// cloud firewalls let in, and the forwarder that applies it; and the volume hooks the machines
// use, called by the API's volume actions.
import * as net from "net";
import { startEmulator } from "./emulator/api";
import { cidrHolds, firewallAllows, forward, FORWARDED_PORTS } from "./emulator/ports";
import { DropletRecord, EmulatorState, FirewallRecord, FirewallRule } from "./emulator/state";

function droplet(id: number, tags: string[] = []): DropletRecord {
  return { id, tags } as unknown as DropletRecord;
}

function firewall(f: Partial<FirewallRecord>): FirewallRecord {
  return {
    id: "fw",
    name: "fw",
    inbound: [],
    outbound: [],
    dropletIds: [],
    tags: [],
    createdAt: "",
    ...f,
  };
}

const WEB: FirewallRule[] = [
  { protocol: "tcp", ports: "22", targets: { addresses: ["203.0.113.0/24"] } },
  { protocol: "tcp", ports: "80", targets: { addresses: ["0.0.0.0/0", "::/0"] } },
  { protocol: "tcp", ports: "440-450", targets: { addresses: ["0.0.0.0/0"] } },
  { protocol: "tcp", ports: "2377", targets: { tags: ["swarm"] } },
];

describe("the emulated cloud firewall", () => {
  test("CIDRs hold the addresses they cover, and only those", () => {
    expect(cidrHolds("0.0.0.0/0", "198.51.100.7")).toBe(true);
    expect(cidrHolds("198.51.100.0/24", "198.51.100.7")).toBe(true);
    expect(cidrHolds("198.51.100.0/25", "198.51.100.200")).toBe(false);
    expect(cidrHolds("198.51.100.7", "198.51.100.7")).toBe(true);
    expect(cidrHolds("::/0", "198.51.100.7")).toBe(false);
  });

  test("a droplet with no firewall takes everything", () => {
    expect(firewallAllows(new EmulatorState(), droplet(1), 27017, "198.51.100.7")).toBe(true);
  });

  test("with a firewall, only what an inbound rule allows from that address", () => {
    const state = new EmulatorState();
    state.firewalls.set("fw", firewall({ inbound: WEB, dropletIds: [1] }));
    const from = (address: string, port: number) =>
      firewallAllows(state, droplet(1), port, address);
    expect(from("198.51.100.7", 80)).toBe(true);
    expect(from("198.51.100.7", 443)).toBe(true);
    expect(from("198.51.100.7", 22)).toBe(false);
    expect(from("203.0.113.9", 22)).toBe(true);
    // Tag sources are droplets, never an outside address.
    expect(from("198.51.100.7", 2377)).toBe(false);
    expect(from("198.51.100.7", 27017)).toBe(false);
    // Another droplet is not behind it.
    expect(firewallAllows(state, droplet(2), 27017, "198.51.100.7")).toBe(true);
  });

  test("a firewall applies to the droplets carrying its tag", () => {
    const state = new EmulatorState();
    state.firewalls.set("fw", firewall({ inbound: WEB, tags: ["web"] }));
    expect(firewallAllows(state, droplet(3, ["web"]), 27017, "198.51.100.7")).toBe(false);
    expect(firewallAllows(state, droplet(4, ["db"]), 27017, "198.51.100.7")).toBe(true);
  });

  test("the forwarder passes what is allowed at that moment and resets the rest", async () => {
    const upstream = net.createServer((s) => s.end("hello\n"));
    await new Promise<void>((r) => upstream.listen(FORWARDED_PORTS[0], "127.0.0.2", r));
    let open = true;
    const fwd = await forward("127.0.0.3", "127.0.0.2", () => open);
    const read = () =>
      new Promise<string>((resolve) => {
        const s = net.connect(FORWARDED_PORTS[0], "127.0.0.3");
        let data = "";
        s.on("data", (d) => (data += d));
        s.on("close", () => resolve(data));
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      });
    try {
      expect(await read()).toBe("hello\n");
      open = false;
      expect(await read()).toBe("ECONNRESET");
    } finally {
      await fwd.close();
      await new Promise((r) => upstream.close(r));
    }
  });
});

describe("the volume hooks", () => {
  test("attach, detach, resize and delete reach the machines, in that order", async () => {
    const calls: string[] = [];
    const emu = await startEmulator({
      attachVolume: (v, id) => void calls.push(`attach ${v.name} ${id}`),
      detachVolume: (v, id) => void calls.push(`detach ${v.name} ${id}`),
      resizeVolume: (v) => void calls.push(`resize ${v.name} ${v.sizeGigabytes}`),
      deleteVolume: (v) => void calls.push(`delete ${v.name}`),
    });
    const api = async (method: string, path: string, body?: unknown): Promise<any> => {
      const r = await fetch(`${emu.url}${path}`, {
        method,
        headers: { authorization: "Bearer t", "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return r.status === 204 ? undefined : r.json();
    };
    const settle = () => new Promise((r) => setTimeout(r, 50));
    try {
      const { droplet: d } = await api("POST", "/v2/droplets", {
        name: "n1",
        region: "nyc3",
        size: "s-1vcpu-1gb",
        image: "ubuntu-24-04-x64",
      });
      const { volume: v } = await api("POST", "/v2/volumes", {
        name: "data",
        region: "nyc3",
        size_gigabytes: 1,
      });
      const act = (body: object) => api("POST", `/v2/volumes/${v.id}/actions`, body);
      await settle();
      await act({ type: "attach", droplet_id: d.id });
      await settle();
      await act({ type: "resize", size_gigabytes: 2 });
      await settle();
      await act({ type: "detach", droplet_id: d.id });
      await settle();
      await api("DELETE", `/v2/volumes/${v.id}`);
      await settle();
      expect(calls).toEqual([
        `attach data ${d.id}`,
        "resize data 2",
        `detach data ${d.id}`,
        "delete data",
      ]);
    } finally {
      await emu.stop();
    }
  });
});
