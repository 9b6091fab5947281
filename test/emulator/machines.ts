// Emulated droplets that boot: each is a container of the droplet image (droplet-image.ts) with
// systemd as PID 1, given its user_data through a NoCloud seed so that the real cloud-init runs
// it; root's keys are the droplet's SSH keys, from the seed's meta-data as DigitalOcean's own
// datasource gives them. Its public address is 127.0.0.N (ports.ts), its volumes are disk
// images on loop devices that appear as /dev/disk/by-id/scsi-0DO_Volume_<name>.
//
// Hook it into the emulator: `startEmulator({ state, ...machines.hooks() })`.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BASE_IMAGE } from "../engine/base-image";
import type { DockerEngine } from "../engine/docker-engine";
import { APT_REPO, DROPLET_IMAGE, IMAGES_DIR, MACHINE_DIR } from "./droplet-image";
import type { DropletHooks, BootResult } from "./droplets";
import { firewallAllows, forward, Forwarder, OUTSIDE_ADDRESS } from "./ports";
import { nextPrivateAddress } from "./network";
import type { DropletRecord, EmulatorState, VolumeRecord, VpcRecord } from "./state";
import type { VolumeHooks } from "./storage";
import { VolumeDisks } from "./volume-disks";

/** The Docker network the droplets are on: internal, so nothing on it reaches beyond it. */
const NETWORK = "dropstack-emulator";
const PREFIX = "dropstack-emulator-droplet-";
/** The container of Spaces' S3 server. */
const SPACES = "dropstack-emulator-spaces";
/** On the emulator's networks, to find and remove them. */
const LABEL = "dropstack.emulator=1";

export interface MachinesOptions {
  engine: DockerEngine;
  state: EmulatorState;
  /** A folder of its own: seeds, disk images, the saved stand-in images. */
  work: string;
  /**
   * Images every droplet's Docker starts with (in place of a registry): by name, or an image of
   * the harness's engine given to the droplets under another name (`as`).
   */
  images: (string | { image: string; as: string })[];
}

export class Machines {
  /** While true, droplets boot with their apt mirror down (an empty repository). */
  mirrorDown = false;
  private readonly forwarders = new Map<number, Forwarder>();
  private readonly disks: VolumeDisks;
  private saved: string | undefined;

  constructor(private readonly options: MachinesOptions) {
    this.disks = new VolumeDisks(path.join(options.work, "volumes"));
  }

  /** The droplet's container: for `docker exec` in a test. */
  static container(droplet: { id: number }): string {
    return `${PREFIX}${droplet.id}`;
  }

  hooks(): DropletHooks & VolumeHooks {
    return {
      bootDroplet: (d) => this.boot(d),
      dropletAction: (d, type) => this.action(d, type),
      deleteDroplet: (d) => this.remove(d),
      attachVolume: (_volume, id) => this.plug(id),
      detachVolume: (v, id) => this.unplug(v, id),
      resizeVolume: (v) => this.disks.resize(v),
      deleteVolume: (v) => this.disks.remove(v),
    };
  }

  /** `docker ...` on the harness's engine. */
  private docker(args: string[]): string {
    return this.options.engine.docker(args);
  }

  /** `docker inspect --format FORMAT` of the droplet's container. */
  inspect(droplet: { id: number }, format: string): string {
    return this.docker(["inspect", "--format", format, Machines.container(droplet)]).trim();
  }

  /** Runs `script` with sh in the droplet's container. */
  exec(droplet: { id: number }, script: string): string {
    return this.docker(["exec", Machines.container(droplet), "sh", "-c", script]);
  }

  private async boot(d: DropletRecord): Promise<BootResult> {
    const { state } = this.options;
    this.ensureNetwork();
    const seed = this.writeSeed(d);
    this.plug(d.id);
    const vpc = state.vpcs.get(d.vpcUuid);
    if (vpc === undefined) throw new Error(`droplet ${d.id}'s VPC ${d.vpcUuid} does not exist`);
    const vpcNetwork = this.ensureVpcNetwork(vpc);
    this.docker([
      "create",
      ...["--name", Machines.container(d), "--hostname", d.name, "--network", NETWORK],
      // What systemd and a Docker engine inside need, short of --privileged (refused here:
      // see ../engine/cluster-checks.ts). SIGRTMIN+3 is systemd's "halt".
      ...["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"],
      ...["--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"],
      ...["--security-opt", "systempaths=unconfined", "--stop-signal", "SIGRTMIN+3"],
      ...["--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"],
      // Loop devices (major 7): the droplet's volumes.
      ...["--device-cgroup-rule", "b 7:* rwm"],
      ...["-v", `${seed}:/var/lib/cloud/seed/nocloud:ro`],
      ...["-v", `${this.machineDir(d)}:${MACHINE_DIR}:ro`],
      ...["-v", `${this.savedImages()}:${IMAGES_DIR}:ro`],
      ...(this.mirrorDown ? ["--tmpfs", APT_REPO] : []),
      // The droplet's Docker keeps its images on a volume, not on the container's overlay root
      // (overlay2 cannot stack on overlay), as a droplet's on its ext4 disk.
      ...["-v", "/var/lib/docker"],
      DROPLET_IMAGE,
    ]);
    // Its private address, in its VPC's range, on a network of that VPC's droplets only.
    const ipv4Private = nextPrivateAddress(vpc);
    this.docker(["network", "connect", "--ip", ipv4Private, vpcNetwork, Machines.container(d)]);
    this.docker(["start", Machines.container(d)]);
    const ipv4 = state.nextLoopback();
    this.forwarders.set(
      d.id,
      await forward(ipv4, this.address(d), (port) =>
        firewallAllows(state, d, port, OUTSIDE_ADDRESS),
      ),
    );
    return { ipv4, ipv4Private };
  }

  private ensureNetwork(name = NETWORK, subnet?: string): string {
    const exists = this.docker(["network", "ls", "-q", "--filter", `name=^${name}$`]).trim();
    if (exists === "")
      this.docker([
        ...["network", "create", "--internal"],
        ...(subnet ? ["--subnet", subnet] : []),
        ...["--label", LABEL, name],
      ]);
    return name;
  }

  /** The network of a VPC's droplets: its range, its droplets' private addresses. */
  private ensureVpcNetwork(vpc: VpcRecord): string {
    return this.ensureNetwork(`${NETWORK}-vpc-${vpc.id.slice(0, 8)}`, vpc.ipRange);
  }

  /** The droplet's user_data and meta-data, where cloud-init's NoCloud datasource reads them. */
  private writeSeed(d: DropletRecord): string {
    const seed = path.join(this.options.work, "droplets", String(d.id), "seed");
    fs.mkdirSync(seed, { recursive: true });
    fs.writeFileSync(path.join(seed, "user-data"), d.userData);
    const meta = {
      "instance-id": `droplet-${d.id}`,
      "local-hostname": d.name,
      "public-keys": d.sshKeys.map((k) => k.publicKey),
    };
    fs.writeFileSync(path.join(seed, "meta-data"), JSON.stringify(meta, null, 2) + "\n");
    return seed;
  }

  /**
   * `docker save` of the stand-in images, once. One given under another name is tagged so for
   * the save only: the harness's engine keeps what that name was (another check's image).
   */
  private savedImages(): string {
    if (this.saved === undefined) {
      const dir = path.join(this.options.work, "images");
      fs.mkdirSync(dir, { recursive: true });
      const renamed = this.options.images.filter((i) => typeof i !== "string");
      const was = renamed.map(({ as }) => {
        const id = this.docker(["image", "ls", "-q", "--no-trunc", as]).trim();
        return id === "" ? undefined : id;
      });
      try {
        for (const { image, as } of renamed) this.docker(["tag", image, as]);
        const names = this.options.images.map((i) => (typeof i === "string" ? i : i.as));
        this.docker(["save", "-o", path.join(dir, "images.tar"), ...names]);
      } finally {
        renamed.forEach(({ as }, i) => {
          const id = was[i];
          if (id === undefined) this.docker(["rmi", "--no-prune", as]);
          else this.docker(["tag", id, as]);
        });
      }
      this.saved = dir;
    }
    return this.saved;
  }

  private removeSpaces(): void {
    const id = this.docker(["ps", "-aq", "--filter", `name=^${SPACES}$`]).trim();
    if (id !== "") this.docker(["rm", "-f", "-v", id]);
  }

  /**
   * Spaces' buckets: moto's S3 server (`venv`, from scripts/moto/build.sh) in a container of the
   * base image (Debian's Python 3.11, as the environment's) on the droplets' network, where the
   * droplets reach it, and this machine too. Its address: the Spaces endpoint's host.
   */
  async startSpaces(venv: string): Promise<string> {
    this.ensureNetwork();
    this.removeSpaces();
    this.docker([
      ...["run", "-d", "--name", SPACES, "--network", NETWORK],
      ...["-v", `${venv}:/opt/moto:ro`, "-e", "PYTHONPATH=/opt/moto/lib/python3.11/site-packages"],
      ...[BASE_IMAGE, "python3", "-m", "moto.server", "-H", "0.0.0.0", "-p", "80"],
    ]);
    const address = this.docker([
      ...["inspect", "--format", `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`],
      SPACES,
    ]).trim();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answered = await fetch(`http://${address}/`).then(
        (r) => r.ok,
        () => false,
      );
      if (answered) return address;
      if (Date.now() > deadline)
        throw new Error(
          `moto's S3 server did not answer at ${address}:\n${this.docker(["logs", "--tail", "20", SPACES])}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The container's address on the droplets' network. */
  private address(d: { id: number }): string {
    return this.inspect(d, `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`);
  }

  /**
   * Makes the droplet's attached volumes appear in it, in the order they were attached, as
   * /dev/sdX with DigitalOcean's stable name pointing at it: listed for the droplet's next boot
   * (dropstack-emulator-init makes them before systemd starts), and made at once if it runs.
   */
  private plug(dropletId: number): void {
    const d = this.options.state.droplets.get(dropletId);
    if (d === undefined) return;
    const disks = d.volumeIds.flatMap((id, i) => {
      const v = this.options.state.volumes.get(id);
      if (v === undefined) return [];
      const { major, minor } = this.disks.device(v);
      return [`sd${String.fromCharCode(97 + i)} ${major} ${minor} ${v.name}\n`];
    });
    fs.writeFileSync(path.join(this.machineDir(d), "disks"), disks.join(""));
    if (d.status === "off" || d.status === "new") return;
    this.exec(d, "/usr/local/sbin/dropstack-emulator-disks");
  }

  private machineDir(d: { id: number }): string {
    const dir = path.join(this.options.work, "droplets", String(d.id), "machine");
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  private unplug(v: VolumeRecord, dropletId: number): void {
    const d = this.options.state.droplets.get(dropletId);
    if (d === undefined) return;
    const running = d.status !== "off" && d.status !== "new";
    const link = `/dev/disk/by-id/scsi-0DO_Volume_${v.name}`;
    if (running) this.exec(d, `[ -e ${link} ] && rm -f "$(readlink -f ${link})" ${link} || true`);
    this.plug(dropletId);
  }

  private async action(d: DropletRecord, type: string): Promise<void> {
    const name = Machines.container(d);
    switch (type) {
      case "power_off":
        this.docker(["kill", name]);
        return;
      case "shutdown":
        this.docker(["stop", "-t", "60", name]);
        return;
      case "power_on":
      case "reboot":
      case "power_cycle":
        if (type === "power_cycle") this.docker(["kill", name]);
        // The disks file is already up to date: plug() writes it on every attach and detach.
        this.docker([type === "reboot" ? "restart" : "start", name]);
        this.forwarders.get(d.id)?.retarget(this.address(d));
        return;
      default:
        // resize and the rest change the record only; a resize is done while off.
        return;
    }
  }

  private async remove(d: DropletRecord): Promise<void> {
    await this.forwarders.get(d.id)?.close();
    this.forwarders.delete(d.id);
    this.docker(["rm", "-f", "-v", Machines.container(d)]);
    fs.rmSync(path.join(this.options.work, "droplets", String(d.id)), {
      recursive: true,
      force: true,
    });
  }

  /**
   * What an interrupted run left in the harness's engine and on this machine: the droplets' and
   * Spaces' containers, the emulator's networks, the volumes' loop devices (its disk images are
   * in `work` folders named `workPrefix*` under the temporary folder).
   */
  static removeLeftovers(engine: DockerEngine, workPrefix: string): void {
    const ids = (args: string[]) => engine.docker(args).split("\n").filter(Boolean);
    const containers = ids(["ps", "-aq", "--filter", "name=^dropstack-emulator-"]);
    if (containers.length > 0) engine.docker(["rm", "-f", "-v", ...containers]);
    const networks = ids(["network", "ls", "-q", "--filter", `label=${LABEL}`]);
    if (networks.length > 0) engine.docker(["network", "rm", ...networks]);
    VolumeDisks.removeLeftovers(os.tmpdir(), workPrefix);
  }

  /** Removes every droplet's container and forwarder and every disk: the end of a test run. */
  async stop(): Promise<void> {
    for (const id of [...this.forwarders.keys()]) {
      const d = this.options.state.droplets.get(id) ?? { id };
      await this.remove(d as DropletRecord);
    }
    this.removeSpaces();
    const left = this.docker(["ps", "-aq", "--filter", `name=^${PREFIX}`]).split("\n");
    if (left.some(Boolean)) this.docker(["rm", "-f", "-v", ...left.filter(Boolean)]);
    const networks = this.docker(["network", "ls", "-q", "--filter", `label=${LABEL}`]).trim();
    if (networks !== "") this.docker(["network", "rm", ...networks.split("\n")]);
    this.disks.removeAll();
  }
}
