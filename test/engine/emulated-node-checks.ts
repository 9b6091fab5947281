// What the emulated droplet of a deployed dev stack holds and shows: its data on the volume,
// only 22, 80 and 443 answering at its public address, SSH by key only.
import { execFile } from "child_process";
import * as net from "net";
import { DATA_MOUNT } from "../../cloud-init";
import { METADATA_ADDRESS } from "../emulator/droplet-image";
import { FORWARDED_PORTS } from "../emulator/ports";
import { mongoImage } from "./standins";
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

  await check("the metadata service answers the droplet, and none of its containers", () => {
    const d = t.droplet();
    // Single quotes only: it goes inside double quotes on the droplet's shell.
    const probe = `import urllib.request; print(urllib.request.urlopen('http://${METADATA_ADDRESS}/v1/hostname', timeout=5).status)`;
    expectEqual(t.machines.exec(d, `python3 -c "${probe}"`).trim(), "200", "from the droplet");
    const fromContainer = t.machines.exec(
      d,
      `docker run --rm --entrypoint python3 ${mongoImage()} -c "${probe}" 2>&1 || true`,
    );
    if (!/timed out|unreachable|refused/i.test(fromContainer))
      throw new Error(`a container on the droplet reached ${METADATA_ADDRESS}: ${fromContainer}`);
  });

  await check("at the droplet's address only 22, 80 and 443 answer", async () => {
    const address = t.droplet().publicIpv4!;
    const open: number[] = [];
    for (const port of FORWARDED_PORTS) if (await answers(address, port)) open.push(port);
    expectEqual(open, [22, 80, 443], `ports answering at ${address}`);
  });

  // Not spawnSync: the droplet's address is served by this process (ports.ts), which must keep
  // running while ssh talks to it.
  await check("SSH takes the deploy key only: a password login is refused", async () => {
    const stderr = await new Promise<string>((resolve) =>
      execFile(
        "ssh",
        [
          ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"],
          ...["-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no"],
          ...["-o", "PreferredAuthentications=password,keyboard-interactive"],
          `root@${t.droplet().publicIpv4}`,
          "true",
        ],
        { encoding: "utf8", timeout: 30000 },
        (error, _stdout, stderr) => resolve(error === null ? "logged in" : stderr || String(error)),
      ),
    );
    if (!/Permission denied \(publickey\)/.test(stderr))
      throw new Error(`expected "Permission denied (publickey)", got: ${stderr.trim()}`);
  });
}
