// `npm run test:emulated`: the shipped dev stack's whole `pulumi up` on one machine, with the
// real CLI and the real digitalocean, docker, random, command and tls plugins, against the
// emulated DigitalOcean (test/emulator/) whose droplets boot: systemd containers of a Debian root
// that run the stack's real user_data through the real cloud-init. Then what a user and an
// attacker see: the url over HTTPS with the password output, the node's data on its volume, its
// closed ports and metadata, a second up with no changes, a resize and a replacement that keep
// the data, a host that presents another key, destroy with and without the volume kept.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../emulator/api";
import type { Emulator } from "../emulator/api";
import { Machines } from "../emulator/machines";
import { EmulatorState } from "../emulator/state";
import type { DropletRecord } from "../emulator/state";
import { CADDY_IMAGE } from "../../proxy/caddy";
import { expectEqual } from "./checks";
import type { Check } from "./checks";
import type { DockerEngine } from "./docker-engine";
import { jupyterLogin } from "./jupyter-login";
import type { Pulumi } from "./pulumi-engine";
import { tail } from "./pulumi-engine";
import { mongoImage, notebookBase } from "./standins";
import { nodeChecks } from "./emulated-node-checks";
import { lifecycleChecks } from "./emulated-lifecycle-checks";

const WORK_PREFIX = "dropstack-emulated-";

/** What one emulated run holds: the API, its machines, and the stack's commands. */
export interface Emulated {
  emu: Emulator;
  machines: Machines;
  state: EmulatorState;
  /** The project folder the stack's commands run in (the checks' own copy). */
  project: string;
  pulumi(args: string[]): Promise<{ status: number; output: string }>;
  /** `pulumi ARGS`, failing with the output's tail unless it succeeds. */
  ok(args: string[]): Promise<string>;
  output(name: string, secret?: boolean): Promise<string>;
  /** The stack's only droplet. */
  droplet(): DropletRecord;
  /** The emulated Spaces' address (its endpoint's host), when it runs. */
  spaces?: string;
}

export interface EmulatedOptions {
  /** Runs the emulated Spaces: moto's environment (scripts/moto/build.sh). */
  spacesVenv?: string;
  /** The droplets' stand-in images; by default the default stack's. */
  images?: (string | { image: string; as: string })[];
}

/** What a failed command said: its diagnostics first (the summary after them is long), then its tail. */
export function failure(output: string): string {
  const at = output.indexOf("Diagnostics:");
  const end = output.indexOf("Outputs:", at);
  return at >= 0 ? output.slice(at, end > at ? end : undefined).trim() : tail(output);
}

/** The emulated DigitalOcean with booting droplets, and `stack`'s commands against it. */
export async function startEmulated(
  pulumi: Pulumi,
  engine: DockerEngine,
  project: string,
  stackName: string,
  options: EmulatedOptions = {},
): Promise<Emulated & { stop(): Promise<void> }> {
  // An interrupted run's droplets, networks and loop devices would collide with this one's.
  Machines.removeLeftovers(engine, WORK_PREFIX);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), WORK_PREFIX));
  const state = new EmulatorState();
  const machines = new Machines({
    engine,
    state,
    work,
    images: options.images ?? [notebookBase(), mongoImage(), CADDY_IMAGE],
  });
  const spaces =
    options.spacesVenv === undefined ? undefined : await machines.startSpaces(options.spacesVenv);
  const emu = await startEmulator({ state, spaces, ...machines.hooks() });
  const env: Record<string, string> = {
    DIGITALOCEAN_API_URL: emu.url,
    DIGITALOCEAN_TOKEN: "emulator-token",
  };
  if (spaces !== undefined) {
    // The provider's Spaces endpoint (the program's repository follows it), and the emulator as
    // its HTTP proxy: the AWS SDK asks for http://<bucket>.<spaces>/, which only the proxy
    // knows. Go's proxy setting passes loopback by (the API); the Docker provider's client over
    // ssh:// addresses docker.example.com, which must not go to a proxy.
    env.SPACES_ENDPOINT_URL = `http://${spaces}`;
    env.HTTP_PROXY = emu.url;
    env.NO_PROXY = "docker.example.com";
  }
  const run = (args: string[]) => pulumi.runAsync([...args, "--stack", stackName], project, env);
  const ok = async (args: string[]) => {
    const r = await run(args);
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${failure(r.output)}`);
    return r.output;
  };
  return {
    emu,
    machines,
    state,
    project,
    spaces,
    pulumi: run,
    ok,
    output: async (name, secret = false) =>
      (await ok(["stack", "output", name, ...(secret ? ["--show-secrets"] : [])])).trim(),
    droplet: () => {
      const all = [...state.droplets.values()];
      if (all.length !== 1) throw new Error(`${all.length} droplets at the emulated API, not 1`);
      return all[0];
    },
    stop: async () => {
      // Whatever failed, nothing is left running (a no-op after a check's own destroy).
      await run(["destroy", "--yes"]);
      await machines.stop();
      await emu.stop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

export async function emulatedChecks(
  pulumi: Pulumi,
  engine: DockerEngine,
  project: string,
  check: Check,
  gate: Check,
): Promise<void> {
  const t = await startEmulated(pulumi, engine, project, "dev");
  const { ok } = t;
  try {
    await gate(
      "pulumi up of the shipped dev stack (tls internal) boots a droplet, runs cloud-init and deploys over SSH",
      async () => {
        await ok(["stack", "select", "--create"]);
        await ok(["config", "set", "dropstack:tls", "internal"]);
        await ok(["up", "--yes", "--skip-preview"]);
        if (t.emu.unknown.length > 0)
          throw new Error(
            `calls the emulator does not know: ${t.emu.unknown.map((u) => `${u.method} ${u.path}`).join(", ")}`,
          );
      },
    );

    await check(
      "the url output answers over HTTPS at the droplet's address with the stack's CA; the password logs in",
      async () => {
        const url = await t.output("url");
        expectEqual(url, `https://${t.droplet().publicIpv4}/`, "url");
        const ca = await t.output("caCertificate");
        const password = await t.output("password", true);
        expectEqual((await jupyterLogin(url, ca, password)).status, 302, "login");
        expectEqual((await jupyterLogin(url, ca, `${password}x`)).status, 401, "wrong password");
      },
    );

    await nodeChecks(t, check);

    await check("a second up changes nothing", async () => {
      await ok(["preview", "--expect-no-changes"]);
    });

    await lifecycleChecks(t, check);
  } finally {
    await t.stop();
  }
}
