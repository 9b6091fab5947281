// The dev stack's life on the emulated DigitalOcean after its first up: a host that presents
// another key, a resize, a replaced droplet, a destroy that keeps the volume and an up that
// adopts it, the last destroy, and a boot whose cloud-init fails.
import { DATA_MOUNT } from "../../cloud-init";
import { expectEqual } from "./checks";
import type { Check } from "./checks";
import type { Emulated } from "./emulated-checks";
import { jupyterLogin } from "./jupyter-login";
import { tail } from "./pulumi-engine";
import type { DropletRecord } from "../emulator/state";

const MARKER = `${DATA_MOUNT}/dropstack-emulated-marker`;

/** What is left at the emulated API. */
export function leftAtApi(t: Emulated) {
  return {
    droplets: t.state.droplets.size,
    firewalls: t.state.firewalls.size,
    keys: t.state.sshKeys.size,
    volumes: t.state.volumes.size,
  };
}

/**
 * The url output logs in with the password output, trusting only the stack's CA; the url is at
 * `at`'s address (the only droplet's by default).
 */
export async function urlLogsIn(t: Emulated, at: DropletRecord = t.droplet()): Promise<void> {
  const url = await t.output("url");
  expectEqual(url, `https://${at.publicIpv4}/`, "url");
  const login = await jupyterLogin(
    url,
    await t.output("caCertificate"),
    await t.output("password", true),
  );
  expectEqual(login.status, 302, `a login at ${url}`);
}

function marker(t: Emulated): string {
  return t.machines.exec(t.droplet(), `cat ${MARKER} 2>&1 || true`).trim();
}

/** The URN of the droplet resource `name` (the first node's by default) in the stack's state. */
export async function dropletUrn(t: Emulated, name = "node-droplet"): Promise<string> {
  const state = JSON.parse(await t.ok(["stack", "export"]));
  const droplet = state.deployment.resources.find(
    (r: { type: string; urn: string }) =>
      r.type === "digitalocean:index/droplet:Droplet" && r.urn.endsWith(`::${name}`),
  );
  if (droplet === undefined) throw new Error(`no droplet ${name} in the stack's state`);
  return droplet.urn;
}

export async function lifecycleChecks(t: Emulated, check: Check): Promise<void> {
  await check(
    "a droplet presenting another host key makes up fail with the key named, before any login",
    async () => {
      const d = t.droplet();
      const key = "/etc/ssh/ssh_host_ed25519_key";
      const logins = () =>
        t.machines
          .exec(d, "journalctl -u ssh -o cat | grep -c 'Accepted publickey' || true")
          .trim();
      const before = logins();
      t.machines.exec(
        d,
        `mv ${key} ${key}.kept && mv ${key}.pub ${key}.pub.kept && ` +
          `ssh-keygen -q -t ed25519 -N '' -f ${key} && systemctl restart ssh`,
      );
      try {
        const r = await t.pulumi(["up", "--yes", "--refresh", "--skip-preview"]);
        if (r.status === 0) throw new Error("up succeeded against a host with another key");
        const said = r.output
          .split("\n")
          .filter((line) => /Host key verification failed|REMOTE HOST IDENTIFICATION/.test(line));
        if (said.length === 0)
          throw new Error(`up did not say the host key is wrong:\n${tail(r.output)}`);
        // What the user reads, in the run's log.
        process.stdout.write(`    up said: ${said[0].trim().slice(0, 300)}\n`);
        expectEqual(logins(), before, "SSH logins accepted by the droplet since its key changed");
      } finally {
        t.machines.exec(
          d,
          `mv ${key}.kept ${key} && mv ${key}.pub.kept ${key}.pub && systemctl restart ssh`,
        );
      }
    },
  );

  await check(
    "a new size resizes the droplet in place: same droplet, data kept, url answers",
    async () => {
      t.machines.exec(t.droplet(), `echo kept > ${MARKER}`);
      const id = t.droplet().id;
      await t.ok(["config", "set", "dropstack:size", "s-2vcpu-4gb"]);
      await t.ok(["up", "--yes", "--skip-preview"]);
      expectEqual([t.droplet().id, t.droplet().size], [id, "s-2vcpu-4gb"], "the droplet");
      expectEqual(marker(t), "kept", `${MARKER} after the resize`);
      await urlLogsIn(t);
    },
  );

  await check(
    "a replaced droplet (up --replace) gets the same volume with its data; the url answers",
    async () => {
      const before = t.droplet();
      const [volume] = t.state.volumes.values();
      await t.ok(["up", "--yes", "--skip-preview", "--replace", await dropletUrn(t)]);
      const after = t.droplet();
      if (after.id === before.id) throw new Error("the droplet was not replaced");
      expectEqual(after.volumeIds, [volume.id], "the new droplet's volumes");
      expectEqual(marker(t), "kept", `${MARKER} on the new droplet`);
      await urlLogsIn(t);
      await t.ok(["preview", "--expect-no-changes"]);
    },
  );

  await check(
    "destroy with retainDataOnDestroy keeps only the volume; dataVolumeId adopts it, data intact",
    async () => {
      await t.ok(["config", "set", "dropstack:retainDataOnDestroy", "true"]);
      await t.ok(["up", "--yes", "--skip-preview"]);
      const [volume] = t.state.volumes.values();
      await t.ok(["destroy", "--yes"]);
      expectEqual(leftAtApi(t), { droplets: 0, firewalls: 0, keys: 0, volumes: 1 }, "at the API");
      await t.ok(["config", "set", "dropstack:dataVolumeId", volume.id]);
      await t.ok(["config", "set", "dropstack:retainDataOnDestroy", "false"]);
      await t.ok(["up", "--yes", "--skip-preview"]);
      expectEqual(t.droplet().volumeIds, [volume.id], "the droplet's volumes");
      expectEqual(marker(t), "kept", `${MARKER} on the adopted volume`);
      await urlLogsIn(t);
    },
  );

  await check("destroy leaves no droplet, firewall, key or volume at the API", async () => {
    await t.ok(["destroy", "--yes"]);
    expectEqual(leftAtApi(t), { droplets: 0, firewalls: 0, keys: 0, volumes: 0 }, "at the API");
    await t.ok(["config", "rm", "dropstack:dataVolumeId"]);
  });

  await check(
    "a cloud-init that fails (the apt mirror down) fails up within the timeout, with its log's tail",
    async () => {
      t.machines.mirrorDown = true;
      try {
        await t.ok(["config", "set", "dropstack:readinessTimeoutMinutes", "3"]);
        const start = Date.now();
        const r = await t.pulumi(["up", "--yes", "--skip-preview"]);
        const seconds = (Date.now() - start) / 1000;
        if (r.status === 0) throw new Error("up succeeded with cloud-init failing");
        for (const expected of [
          "dropstack: the node is not ready: cloud-init failed",
          "Last lines of /var/log/cloud-init-output.log:",
          "Failure when attempting to install packages: ['docker.io'",
        ])
          if (!r.output.includes(expected))
            throw new Error(`up's output lacks ${JSON.stringify(expected)}:\n${tail(r.output)}`);
        if (seconds > 3 * 60 + 60) throw new Error(`up took ${seconds} s to fail`);
      } finally {
        t.machines.mirrorDown = false;
        await t.ok(["destroy", "--yes"]);
      }
      expectEqual(leftAtApi(t), { droplets: 0, firewalls: 0, keys: 0, volumes: 0 }, "at the API");
    },
  );
}
