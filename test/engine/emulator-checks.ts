// The real DigitalOcean provider plugin against the emulated DigitalOcean API (test/emulator/):
// `pulumi up` of the shipped dev stack makes what a droplet needs at the API and stops where the
// droplet would have to answer SSH (the emulator's droplets do not boot yet); a refreshing
// preview reads every resource back as the provider left it; destroy leaves nothing. Every call
// the provider makes must be one the emulator knows. No Docker engine is needed.
import { startEmulator } from "../emulator/api";
import { digitalOceanChanges } from "../emulator/changes";
import { expectEqual } from "./checks";
import type { Check } from "./checks";
import type { Pulumi } from "./pulumi-engine";
import { tail } from "./pulumi-engine";

export async function emulatorChecks(pulumi: Pulumi, project: string, check: Check): Promise<void> {
  const emu = await startEmulator();
  const env = { DIGITALOCEAN_API_URL: emu.url, DIGITALOCEAN_TOKEN: "emulator-token" };
  // The shipped dev stack (Pulumi.dev.yaml).
  const stack = ["--stack", "dev"];
  const run = (args: string[]) => pulumi.runAsync(args, project, env);
  const counts = () => ({
    droplets: emu.state.droplets.size,
    volumes: emu.state.volumes.size,
    keys: emu.state.sshKeys.size,
    firewalls: emu.state.firewalls.size,
  });
  const noUnknownCalls = () => {
    if (emu.unknown.length > 0)
      throw new Error(
        `calls the emulator does not know: ${emu.unknown.map((u) => `${u.method} ${u.path}`).join(", ")}`,
      );
  };
  try {
    await check(
      "against the emulated DigitalOcean API, up on dev makes the volume, key, droplet and firewall, then stops at the droplet's SSH",
      async () => {
        // The readiness wait is cut to its minimum: nothing will answer it.
        await run(["stack", "select", "--create", ...stack]);
        await run(["config", "set", "dropstack:readinessTimeoutMinutes", "1", ...stack]);
        const r = await run(["up", "--yes", "--skip-preview", ...stack]);
        if (r.status === 0) throw new Error("up succeeded with no droplet to answer SSH");
        if (!/127\.0\.0\.\d+ port 22/.test(r.output))
          throw new Error(`up did not stop at the droplet's SSH:\n${tail(r.output)}`);
        noUnknownCalls();
        expectEqual(counts(), { droplets: 1, volumes: 1, keys: 1, firewalls: 1 }, "at the API");
        const [droplet] = emu.state.droplets.values();
        const [volume] = emu.state.volumes.values();
        expectEqual(
          [droplet.size, droplet.region, droplet.volumeIds, droplet.sshKeys.length],
          ["s-2vcpu-2gb", "nyc3", [volume.id], 1],
          "the droplet's size, region, volume and key",
        );
        if (!droplet.userData.startsWith("#cloud-config"))
          throw new Error(
            `the droplet's user_data is not cloud-config: ${droplet.userData.slice(0, 80)}`,
          );
        const [firewall] = emu.state.firewalls.values();
        expectEqual(
          firewall.inbound.map((rule) => `${rule.protocol}/${rule.ports}`).sort(),
          ["tcp/22", "tcp/443", "tcp/80"],
          "the firewall's inbound rules",
        );
      },
    );

    await check(
      "a refreshing preview reads every DigitalOcean resource back as up left it",
      async () => {
        const r = await run(["preview", "--refresh", "--json", ...stack]);
        expectEqual(digitalOceanChanges(r.output), [], "DigitalOcean resources that would change");
        noUnknownCalls();
      },
    );

    await check(
      "destroy leaves no droplet, volume, key or firewall at the emulated API",
      async () => {
        const r = await run(["destroy", "--yes", ...stack]);
        if (r.status !== 0) throw new Error(`destroy failed:\n${tail(r.output)}`);
        noUnknownCalls();
        expectEqual(counts(), { droplets: 0, volumes: 0, keys: 0, firewalls: 0 }, "at the API");
      },
    );
  } finally {
    await pulumi.killSurvivors();
    await emu.stop();
  }
}
