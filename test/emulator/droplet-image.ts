// The emulated droplet's disk image: a Debian root made with debootstrap, booted by systemd in a
// container (machines.ts). Debian trixie stands in for Ubuntu 24.04, DigitalOcean's image for
// dropstack: the nearest Debian release (systemd 257, cloud-init 25, Docker 26, Compose v2).
//
// What cloud-init installs at boot (user_data's `packages`) comes from an apt repository inside
// the image, as a droplet's come from DigitalOcean's mirror: the .deb files of docker.io,
// docker-compose and unattended-upgrades with what they depend on and recommend, fetched when the
// image is made, so that a boot installs them for real with no network. Ubuntu's
// `docker-compose-v2` is not a Debian package: the repository has a package of that name that
// depends on Debian's docker-compose (Compose v2 too). See test/emulator/README.md.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureImage, imageMissing, Recipe } from "../engine/base-image";
import type { DockerEngine } from "../engine/docker-engine";

export const DROPLET_IMAGE = "dropstack-test/droplet:trixie";
/** The debootstrap root with its apt repository, cached; DROPLET_IMAGE adds FILES to it. */
const ROOT_IMAGE = "dropstack-test/droplet-root:trixie";

/** Inside the image: the apt repository and the script that loads the stand-in images. */
export const APT_REPO = "/srv/dropstack-apt";
/** Where machines.ts mounts the stand-in images (`docker save` output) in a droplet. */
export const IMAGES_DIR = "/srv/dropstack-images";
/** DigitalOcean's metadata service, as a droplet reaches it. */
export const METADATA_ADDRESS = "169.254.169.254";
/** Where machines.ts mounts what the droplet's "hardware" is: its disks, in `disks`. */
export const MACHINE_DIR = "/srv/dropstack-machine";

/** What user_data's `packages` asks for, by Debian's names. */
const BOOT_PACKAGES = ["docker.io", "docker-compose", "unattended-upgrades"];

const FILES: Record<string, string> = {
  // NoCloud: machines.ts writes each droplet's user_data and meta-data to the seed directory.
  // The network is Docker's, already up; cloud-init must not replace it. The apt sources are
  // the image's own, as DigitalOcean's images point at DigitalOcean's mirror.
  "etc/cloud/cloud.cfg.d/90-dropstack-emulator.cfg": [
    "datasource_list: [NoCloud, None]",
    "network: {config: disabled}",
    "apt: {preserve_sources_list: true}",
    "",
  ].join("\n"),
  "etc/apt/sources.list.d/dropstack-emulator.list": `deb [trusted=yes] file:${APT_REPO} ./\n`,
  // A registry would serve the stand-in images; none is reachable, so Docker starts with them
  // loaded. ExecStartPost holds docker.service's start until they are, so cloud-init (whose
  // runcmd starts Docker) finishes only then, and nothing pulls before they are there.
  "etc/systemd/system/docker.service.d/50-dropstack-emulator.conf": [
    "[Service]",
    "ExecStartPost=/usr/local/sbin/dropstack-emulator-images",
    "",
  ].join("\n"),
  // A VM's disks are there when it boots: the droplet's attached volumes, as machines.ts lists
  // them ("sda 7 3 <volume name>"), are made before systemd starts, and again on a hot plug.
  "usr/local/sbin/dropstack-emulator-disks": [
    "#!/bin/sh",
    "set -eu",
    `[ -f ${MACHINE_DIR}/disks ] || exit 0`,
    "mkdir -p /dev/disk/by-id",
    "while read -r dev major minor name; do",
    '  rm -f "/dev/$dev"',
    '  mknod "/dev/$dev" b "$major" "$minor"',
    '  ln -sfn "../../$dev" "/dev/disk/by-id/scsi-0DO_Volume_$name"',
    `done < ${MACHINE_DIR}/disks`,
    "",
  ].join("\n"),
  "usr/local/sbin/dropstack-emulator-init": [
    "#!/bin/sh",
    "/usr/local/sbin/dropstack-emulator-disks",
    'exec /sbin/init "$@"',
    "",
  ].join("\n"),
  // The metadata service, off the droplet as DigitalOcean's is: in a network namespace of its
  // own behind a veth pair, so that what the droplet's containers send it crosses the droplet's
  // FORWARD chain (and DOCKER-USER) as it would on its way out of a real droplet.
  "usr/local/sbin/dropstack-emulator-metadata": [
    "#!/bin/sh",
    "set -eu",
    "ip netns delete dometa 2> /dev/null || true",
    "ip link delete md0 2> /dev/null || true",
    "ip netns add dometa",
    "ip link add md0 type veth peer name md1",
    "ip link set md1 netns dometa",
    "ip addr add 169.254.169.1/24 dev md0",
    "ip link set md0 up",
    `ip netns exec dometa ip addr add ${METADATA_ADDRESS}/24 dev md1`,
    "ip netns exec dometa ip link set md1 up",
    "ip netns exec dometa ip link set lo up",
    "ip netns exec dometa ip route add default via 169.254.169.1",
    "mkdir -p /run/dropstack-metadata/v1",
    "hostname > /run/dropstack-metadata/v1/hostname",
    `exec ip netns exec dometa python3 -m http.server 80 --bind ${METADATA_ADDRESS} --directory /run/dropstack-metadata`,
    "",
  ].join("\n"),
  "etc/systemd/system/dropstack-emulator-metadata.service": [
    "[Unit]",
    "Description=The emulated DigitalOcean metadata service",
    "Before=cloud-init.service",
    "[Service]",
    "ExecStart=/usr/local/sbin/dropstack-emulator-metadata",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n"),
  // systemd-fstab-generator leaves block devices alone in a container; a droplet is a VM, whose
  // systemd mounts them at boot: the same for DigitalOcean's volume names in /etc/fstab.
  "etc/systemd/system-generators/dropstack-emulator-fstab": [
    "#!/bin/sh",
    "set -eu",
    'out="$1"',
    "grep -E '^/dev/disk/by-id/' /etc/fstab 2> /dev/null | while read -r what where type options _; do",
    '  unit=$(systemd-escape --path --suffix=mount "$where")',
    "  printf '[Unit]\\nSourcePath=/etc/fstab\\nBefore=local-fs.target\\n[Mount]\\nWhat=%s\\nWhere=%s\\nType=%s\\nOptions=%s\\n' \\",
    '    "$what" "$where" "$type" "$options" > "$out/$unit"',
    '  mkdir -p "$out/local-fs.target.wants"',
    '  ln -sf "../$unit" "$out/local-fs.target.wants/$unit"',
    "done",
    "",
  ].join("\n"),
  "usr/local/sbin/dropstack-emulator-images": [
    "#!/bin/sh",
    "# Loads the stand-in images machines.ts mounts, once per droplet.",
    "set -eu",
    `[ -f ${IMAGES_DIR}/images.tar ] || exit 0`,
    `[ -e /var/lib/dropstack-emulator-images ] && exit 0`,
    `docker load -q -i ${IMAGES_DIR}/images.tar`,
    "touch /var/lib/dropstack-emulator-images",
    "",
  ].join("\n"),
};

const RECIPE: Recipe = {
  image: ROOT_IMAGE,
  suite: "trixie",
  // python3-cffi-backend: debootstrap cannot resolve python3-cryptography's virtual dependency
  // on its own. locales: cloud-init's locale module. The rest is what an Ubuntu droplet has
  // and the node's scripts use (iptables, mkfs.ext4, blkid, ps, ip).
  include: [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "cloud-init",
    "python3-cffi-backend",
    "locales",
    "iptables",
    "e2fsprogs",
    "ca-certificates",
    "procps",
    "iproute2",
    "sudo",
  ],
  finish: { version: "droplet-root-1", run: finishRoot },
};

/** Why the droplet image cannot be made here, or undefined when it can (or exists). */
export function dropletImageMissing(engine: DockerEngine): string | undefined {
  if (process.getuid?.() !== 0) return "the droplets' volumes are loop devices, which need root";
  if (spawnSync("losetup", ["--version"]).status !== 0)
    return "losetup is not installed (apt-get install mount)";
  if (!fs.existsSync("/dev/loop-control")) return "this machine has no loop devices";
  return imageMissing(engine, RECIPE);
}

/** The droplet image: the cached root, then FILES, a layer made again whenever they change. */
export function ensureDropletImage(engine: DockerEngine, log: (line: string) => void): void {
  ensureImage(engine, RECIPE, log);
  const key = crypto.createHash("sha256").update(JSON.stringify(FILES)).digest("hex").slice(0, 12);
  const format = '{{index .Config.Labels "dropstack.files"}}';
  try {
    if (engine.docker(["image", "inspect", "--format", format, DROPLET_IMAGE]).trim() === key)
      return;
  } catch {
    // Not made yet.
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-droplet-files-"));
  let container: string | undefined;
  try {
    for (const [file, content] of Object.entries(FILES)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), content, {
        mode: /\/(sbin|system-generators)\//.test(file) ? 0o755 : 0o644,
      });
    }
    // Loading kernel modules is the host's business: in a container it can only fail.
    fs.symlinkSync("/dev/null", path.join(dir, "etc/systemd/system/systemd-modules-load.service"));
    const wants = path.join(dir, "etc/systemd/system/multi-user.target.wants");
    fs.mkdirSync(wants);
    fs.symlinkSync(
      "/etc/systemd/system/dropstack-emulator-metadata.service",
      path.join(wants, "dropstack-emulator-metadata.service"),
    );
    const tar = spawnSync("tar", ["-C", dir, "--owner=0", "--group=0", "-c", "."]);
    if (tar.status !== 0) throw new Error(`tar of the droplet's files: ${tar.stderr}`);
    container = engine.docker(["create", ROOT_IMAGE]).trim();
    engine.docker(["cp", "-", `${container}:/`], tar.stdout);
    engine.docker([
      "commit",
      ...["--change", `CMD ${JSON.stringify(["/usr/local/sbin/dropstack-emulator-init"])}`],
      ...["--change", `LABEL dropstack.files=${key}`],
      container,
      DROPLET_IMAGE,
    ]);
    log(`made ${DROPLET_IMAGE} (files ${key})`);
  } finally {
    if (container !== undefined) engine.docker(["rm", container]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function chroot(root: string, args: string[]): void {
  const r = spawnSync("chroot", [root, ...args], {
    encoding: "utf8",
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.status !== 0)
    throw new Error(`chroot ${args.join(" ")}:\n${(r.stdout + r.stderr).trim().slice(-2000)}`);
}

function finishRoot(root: string, log: (line: string) => void): void {
  fs.copyFileSync("/etc/resolv.conf", path.join(root, "etc/resolv.conf"));
  chroot(root, ["apt-get", "update", "-qq"]);
  chroot(root, ["apt-get", "install", "-qq", "--download-only", "-y", ...BOOT_PACKAGES]);
  const repo = path.join(root, APT_REPO);
  fs.mkdirSync(repo, { recursive: true });
  const archives = path.join(root, "var/cache/apt/archives");
  for (const f of fs.readdirSync(archives).filter((f) => f.endsWith(".deb")))
    fs.renameSync(path.join(archives, f), path.join(repo, f));
  composeV2Package(repo);
  writeIndex(repo);
  log(`apt repository for boot: ${fs.readdirSync(repo).length - 2} packages in ${APT_REPO}`);

  // Only the image's own repository: the droplet has no network beyond the test's.
  fs.rmSync(path.join(root, "etc/apt/sources.list"), { force: true });
  for (const f of fs.readdirSync(path.join(root, "etc/apt/sources.list.d")))
    fs.rmSync(path.join(root, "etc/apt/sources.list.d", f));
  // Every droplet gets its own machine ID and, from cloud-init, its own host key.
  fs.writeFileSync(path.join(root, "etc/machine-id"), "");
  for (const f of fs.readdirSync(path.join(root, "etc/ssh")).filter((f) => /^ssh_host_/.test(f)))
    fs.rmSync(path.join(root, "etc/ssh", f));
  fs.rmSync(path.join(root, "etc/resolv.conf"), { force: true });
}

/** Ubuntu's name for Compose v2, as a package that brings Debian's. */
function composeV2Package(repo: string): void {
  const compose = fs.readdirSync(repo).find((f) => /^docker-compose_/.test(f));
  if (compose === undefined) throw new Error("docker-compose was not downloaded");
  const version = field(path.join(repo, compose), "Version");
  const build = fs.mkdtempSync(path.join(repo, ".build-"));
  try {
    fs.mkdirSync(path.join(build, "DEBIAN"));
    fs.writeFileSync(
      path.join(build, "DEBIAN/control"),
      [
        "Package: docker-compose-v2",
        `Version: ${version}`,
        "Architecture: all",
        "Maintainer: dropstack emulator <dropstack@localhost>",
        `Depends: docker-compose (= ${version})`,
        "Description: Ubuntu's name for Docker Compose v2, here Debian's docker-compose",
        "",
      ].join("\n"),
    );
    const out = path.join(repo, `docker-compose-v2_${version.replace(/^\d+:/, "")}_all.deb`);
    const r = spawnSync("dpkg-deb", ["--root-owner-group", "--build", build, out], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`dpkg-deb --build: ${r.stderr}`);
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
}

function field(deb: string, name: string): string {
  const r = spawnSync("dpkg-deb", ["-f", deb, name], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`dpkg-deb -f ${deb}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A flat repository's Packages and Release, as apt-ftparchive would write them. */
function writeIndex(repo: string): void {
  const hash = (algorithm: string, data: Buffer) =>
    crypto.createHash(algorithm).update(data).digest("hex");
  const stanzas = fs
    .readdirSync(repo)
    .filter((f) => f.endsWith(".deb"))
    .sort()
    .map((f) => {
      const deb = path.join(repo, f);
      const data = fs.readFileSync(deb);
      const control = spawnSync("dpkg-deb", ["-f", deb], { encoding: "utf8" }).stdout.trimEnd();
      return [
        control,
        `Filename: ./${f}`,
        `Size: ${data.length}`,
        `MD5sum: ${hash("md5", data)}`,
        `SHA256: ${hash("sha256", data)}`,
      ].join("\n");
    });
  const packages = Buffer.from(stanzas.join("\n\n") + "\n");
  fs.writeFileSync(path.join(repo, "Packages"), packages);
  fs.writeFileSync(
    path.join(repo, "Release"),
    [
      "Origin: dropstack-emulator",
      "Label: dropstack-emulator",
      `Date: ${new Date().toUTCString()}`,
      "SHA256:",
      ` ${hash("sha256", packages)} ${packages.length} Packages`,
      "",
    ].join("\n"),
  );
}
