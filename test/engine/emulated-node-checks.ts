// What the emulated droplet of a deployed dev stack holds and shows: its data on the volume,
// only 22, 80 and 443 answering at its public address, SSH by key only.
import { spawnSync } from "child_process";
import * as net from "net";
import { DATA_MOUNT } from "../../cloud-init";
import { FORWARDED_PORTS } from "../emulator/ports";
import { expectEqual } from "./checks";
import type { Check } from "./checks";
import type { Emulated } from "./emulated-checks";

/** Whether a TCP connection to address:port is accepted and stays up for a moment. */
export function answers(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 5000 });
    socket.on("connect", () => {
      // The forwarder accepts, then resets what the firewall refuses: wait for that.
      setTimeout(() => resolve(!socket.destroyed), 300);
      socket.on("close", () => resolve(false));
    });
    socket.on("error", () => resolve(false));
    socket.on("timeout", () => (socket.destroy(), resolve(false)));
  });
}

export async function nodeChecks(t: Emulated, check: Check): Promise<void> {
  await check("the services' data are on the data volume, mounted at /mnt/data", () => {
    const d = t.droplet();
    const [volume] = t.state.volumes.values();
    const source = t.machines.exec(d, `readlink -f "$(findmnt -n -o SOURCE ${DATA_MOUNT})"`);
    const device = t.machines.exec(d, `readlink -f /dev/disk/by-id/scsi-0DO_Volume_${volume.name}`);
    expectEqual(source.trim(), device.trim(), `the device mounted at ${DATA_MOUNT}`);
    const mounts = t.machines.exec(
      d,
      "docker ps -q | xargs docker inspect --format '{{.Name}} {{range .Mounts}}{{.Source}} {{end}}'",
    );
    const mongo = mounts.split("\n").find((line) => /mongo/.test(line));
    if (mongo === undefined || !mongo.includes(` ${DATA_MOUNT}/`))
      throw new Error(`mongo's data are not under ${DATA_MOUNT}:\n${mounts}`);
  });

  await check("at the droplet's address only 22, 80 and 443 answer", async () => {
    const address = t.droplet().publicIpv4!;
    const open: number[] = [];
    for (const port of FORWARDED_PORTS) if (await answers(address, port)) open.push(port);
    expectEqual(open, [22, 80, 443], `ports answering at ${address}`);
  });

  await check("SSH takes the deploy key only: a password login is refused", () => {
    const r = spawnSync(
      "ssh",
      [
        ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"],
        ...["-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no"],
        ...["-o", "PreferredAuthentications=password,keyboard-interactive"],
        `root@${t.droplet().publicIpv4}`,
        "true",
      ],
      { encoding: "utf8", timeout: 30000 },
    );
    if (r.status === 0 || !/Permission denied \(publickey\)/.test(r.stderr))
      throw new Error(`expected "Permission denied (publickey)", got: ${r.stderr.trim()}`);
  });
}
