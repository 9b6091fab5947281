import * as fs from "fs";
import * as path from "path";
import { FAKE_IP, runProgram, ProgramRun } from "./harness";

const DROPLET = "digitalocean:index/droplet:Droplet";
const FIREWALL = "digitalocean:index/firewall:Firewall";
const VOLUME = "digitalocean:index/volume:Volume";
const ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment";
const SSH_KEY = "digitalocean:index/sshKey:SshKey";
const COMMAND = "command:local:Command";

describe("the node on DigitalOcean with the default config", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ stack: "dev" });
  });

  test("creates one droplet with the default region, size and image, tagged with the stack", () => {
    const droplet = run.find(DROPLET);
    expect(droplet.inputs).toMatchObject({
      region: "nyc3",
      size: "s-2vcpu-2gb",
      image: "ubuntu-24-04-x64",
      monitoring: true,
      backups: false,
      ipv6: false,
      name: "dropstack-dev",
    });
    // The stack's name for people, the stack's own tag (a cluster's swarm firewall targets it,
    // so a single node carries it too and keeps its droplet as it is when the stack grows).
    expect(droplet.inputs.tags).toEqual(["dev", "dropstack-dev", "dropstack"]);
  });

  test("registers the generated deploy key and gives it to the droplet", () => {
    const key = run.find(SSH_KEY);
    expect(key.inputs.publicKey).toMatch(/^ssh-ed25519 /);
    expect(run.find(DROPLET).inputs.sshKeys).toEqual([
      "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa",
    ]);
    const keys = run.all("tls:index/privateKey:PrivateKey");
    expect(keys.map((k) => k.inputs.algorithm)).toEqual(["ED25519", "ED25519"]);
  });

  test("opens exactly 22, 80 and 443 inbound, to the droplet only", () => {
    const firewall = run.find(FIREWALL);
    const inbound = firewall.inputs.inboundRules.map((r: any) => `${r.protocol}/${r.portRange}`);
    expect(inbound.sort()).toEqual(["tcp/22", "tcp/443", "tcp/80"]);
    expect(firewall.inputs.dropletIds).toEqual([1001]);
    expect(firewall.dependsOn).toContain("node-droplet");
  });

  test("creates an ext4 data volume of 10 GiB that destroy deletes", () => {
    const volume = run.find(VOLUME);
    expect(volume.inputs).toMatchObject({
      size: 10,
      region: "nyc3",
      initialFilesystemType: "ext4",
    });
    expect(volume.inputs.name).toBe("dropstack-dev-data");
    expect(volume.retainOnDelete).toBe(false);
    expect(volume.importId).toBeUndefined();
  });

  test("attaches the volume as the droplet is made; a replacement shuts the old one down, then moves it", () => {
    // A volume attaches to one droplet at a time: an attachment of its own would be made for
    // the new droplet while the old one still held the volume, and fail.
    expect(run.resources.filter((r) => r.type === ATTACHMENT)).toEqual([]);
    const droplet = run.find(DROPLET);
    expect(droplet.inputs.volumeIds).toEqual(["node-data-id"]);
    expect(droplet.inputs.gracefulShutdown).toBe(true);
    expect(droplet.deleteBeforeReplace).toBe(true);
  });

  test("waits for readiness over SSH once the droplet, with its volume, is up", () => {
    const ready = run.find(COMMAND, "node-ready");
    expect(ready.dependsOn).toContain("node-droplet");
    // The volume's size too: a larger volume runs it again, and it grows the filesystem.
    expect(ready.inputs.triggers).toEqual(["1001", "node-data-id", 10]);
    expect(ready.inputs.create).toMatch(/^sh \S*cloud-init\/wait-ready\.sh$/);
    expect(ready.inputs.environment).toMatchObject({
      DROPSTACK_HOST: FAKE_IP,
      DROPSTACK_TIMEOUT: "600",
      DROPSTACK_DATA_MOUNT: "/mnt/data",
    });
    expect(ready.inputs.environment.DROPSTACK_SSH_OPTS).toContain("StrictHostKeyChecking=yes");
  });

  test("exports the droplet's address and an ssh command that pins the host key", () => {
    expect(run.outputs.ip).toBe(FAKE_IP);
    expect(run.outputs.sshCommand).toBe(
      `ssh -i .dropstack/dev/id_ed25519 -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes ` +
        `-o UserKnownHostsFile=.dropstack/dev/known_hosts -o BatchMode=yes -o ServerAliveInterval=30 ` +
        `root@${FAKE_IP}`,
    );
  });

  test("writes the deploy key (0600) and the pinned host key where the ssh options point", () => {
    const dir = path.join(run.cwd, ".dropstack", "dev");
    const key = path.join(dir, "id_ed25519");
    expect(fs.readFileSync(key, "utf8")).toContain("SECRET-node-deploy-key");
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, "known_hosts"), "utf8")).toBe(
      `${FAKE_IP} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5PUBLICnodehostkey\n`,
    );
  });

  test("gives the droplet user_data that holds the host key but no other generated secret", () => {
    const userData: string = run.find(DROPLET).inputs.userData;
    expect(userData).toMatch(/^#cloud-config\n/);
    expect(userData).toContain("SECRET-node-host-key");
    expect(userData).not.toContain("SECRET-node-deploy-key");
    expect(userData).toContain("/dev/disk/by-id/scsi-0DO_Volume_dropstack-dev-data");
  });
});

describe("names", () => {
  test("a long stack name keeps the data volume's name within DigitalOcean's 64 characters", async () => {
    const run = await runProgram({
      stack: "research-group-notebooks-for-the-whole-department-xyz",
    });
    const volume = run.find(VOLUME).inputs.name as string;
    expect(volume).toBe("dropstack-research-group-notebooks-for-the-whole-department-data");
    expect(volume.length).toBe(64);
    expect(run.find(DROPLET).inputs.name).toMatch(/^[a-z][a-z0-9-]{0,58}$/);
  });
});

describe("the node with a non-default config", () => {
  test("passes region, size, volume, droplet backups, IPv6, extra keys and SSH sources through", async () => {
    const run = await runProgram({
      stack: "prod",
      config: {
        "dropstack:region": "ams3",
        "dropstack:size": "s-4vcpu-8gb",
        "dropstack:volumeSize": "50",
        "dropstack:dropletBackups": "true",
        "dropstack:ipv6": "true",
        "dropstack:retainDataOnDestroy": "true",
        "dropstack:sshSourceCidrs": JSON.stringify(["198.51.100.7/32"]),
        "dropstack:sshKeyFingerprints": JSON.stringify([
          "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99",
        ]),
        "dropstack:readinessTimeoutMinutes": "20",
      },
    });
    expect(run.find(DROPLET).inputs).toMatchObject({
      region: "ams3",
      size: "s-4vcpu-8gb",
      backups: true,
      ipv6: true,
    });
    expect(run.find(DROPLET).inputs.sshKeys).toEqual([
      "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa",
      "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99",
    ]);
    expect(run.find(VOLUME).inputs).toMatchObject({ size: 50, region: "ams3" });
    expect(run.find(VOLUME).retainOnDelete).toBe(true);
    const ssh = run.find(FIREWALL).inputs.inboundRules.find((r: any) => r.portRange === "22");
    expect(ssh.sourceAddresses).toEqual(["198.51.100.7/32"]);
    expect(run.find(COMMAND, "node-ready").inputs.environment.DROPSTACK_TIMEOUT).toBe("1200");
  });
});

describe("a data volume a destroyed stack kept", () => {
  const id = "506f78a4-e098-11e5-ad9f-000f53306ae1";

  test("is adopted, with the name the stack gives its volume, instead of a new one", async () => {
    const run = await runProgram({
      stack: "prod",
      config: { "dropstack:dataVolumeId": id, "dropstack:retainDataOnDestroy": "true" },
    });
    const volume = run.find(VOLUME);
    expect(volume.importId).toBe(id);
    expect(volume.inputs.name).toBe("dropstack-prod-data");
    expect(volume.retainOnDelete).toBe(true);
    expect(run.find(DROPLET).inputs.volumeIds).toEqual(["node-data-id"]);
    // The provider never reads initial_filesystem_type back, and it forces a new volume: unless
    // ignored, the import would need a replacement, which the engine refuses.
    expect(volume.ignoreChanges).toEqual(["initialFilesystemType", "description"]);
  });

  test("is named by the dataVolumeId output, so it can be set after a destroy", async () => {
    const run = await runProgram({ stack: "prod" });
    expect(run.outputs.dataVolumeId).toBe("node-data-id");
  });

  test("is ignored, with a warning, on the local target", async () => {
    const run = await runProgram({
      stack: "local",
      config: { "dropstack:target": "local", "dropstack:dataVolumeId": id },
    });
    expect(run.resources.filter((r) => r.type === VOLUME)).toEqual([]);
    expect(run.warnings).toContain(
      "dropstack:dataVolumeId is ignored with target local: data lives in named Docker volumes",
    );
  });
});

describe("user_data", () => {
  test("is passed to DigitalOcean as a secret, since it holds the node's host key", async () => {
    const run = await runProgram();
    expect(run.find(DROPLET).secretInputs).toContain("userData");
  });
});
