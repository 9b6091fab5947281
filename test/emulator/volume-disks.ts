// A volume's bytes: a sparse disk image of the volume's size on a loop device, from its first
// attach until the volume is deleted. Detaching, or deleting the droplet it was on, keeps them.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { VolumeRecord } from "./state";

function run(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(" ")}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

export class VolumeDisks {
  /** Volume ID → its loop device, e.g. /dev/loop3. */
  private readonly loops = new Map<string, string>();

  constructor(private readonly dir: string) {}

  private image(v: VolumeRecord): string {
    return path.join(this.dir, `${v.id}.img`);
  }

  /** The volume's loop device numbers, its disk made and set up on first use. */
  device(v: VolumeRecord): { major: number; minor: number } {
    let loop = this.loops.get(v.id);
    if (loop === undefined) {
      fs.mkdirSync(this.dir, { recursive: true });
      if (!fs.existsSync(this.image(v))) fs.writeFileSync(this.image(v), "");
      fs.truncateSync(this.image(v), v.sizeGigabytes * 1024 ** 3);
      loop = run("losetup", ["--find", "--show", this.image(v)]);
      this.loops.set(v.id, loop);
    }
    const st = fs.statSync(loop);
    // Linux's dev_t: the major number in bits 8-19, the minor in bits 0-7 and 20-31.
    return { major: (st.rdev >> 8) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
  }

  /** The disk grows to the volume's new size; the droplet's kernel sees it at once. */
  resize(v: VolumeRecord): void {
    if (!fs.existsSync(this.image(v))) return;
    fs.truncateSync(this.image(v), v.sizeGigabytes * 1024 ** 3);
    const loop = this.loops.get(v.id);
    if (loop !== undefined) run("losetup", ["--set-capacity", loop]);
  }

  remove(v: { id: string }): void {
    const loop = this.loops.get(v.id);
    if (loop !== undefined) run("losetup", ["--detach", loop]);
    this.loops.delete(v.id);
    fs.rmSync(path.join(this.dir, `${v.id}.img`), { force: true });
  }

  /**
   * Detaches the loop devices an interrupted run left on disk images in `tmp` folders named
   * `prefix*` (which the run would have removed), and removes those folders.
   */
  static removeLeftovers(tmp: string, prefix: string): void {
    const listed = spawnSync("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"], {
      encoding: "utf8",
    });
    for (const line of (listed.stdout ?? "").split("\n")) {
      const [loop, file] = line.trim().split(/\s+/);
      if (file?.startsWith(path.join(tmp, prefix))) spawnSync("losetup", ["--detach", loop]);
    }
  }

  removeAll(): void {
    for (const id of [...this.loops.keys()]) this.remove({ id });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
