import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { renderUserData } from "../cloud-init";
import { run, testWithTool } from "./tools";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cloud-init-"));

/** A real ed25519 key pair from ssh-keygen when there is one, so the rendering sees real text. */
function hostKey(): { privateKeyOpenssh: string; publicKeyOpenssh: string } {
  const file = path.join(tmp, "host_key");
  const made = run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
  if (made.status === 0) {
    return {
      privateKeyOpenssh: fs.readFileSync(file, "utf8"),
      publicKeyOpenssh: fs.readFileSync(`${file}.pub`, "utf8"),
    };
  }
  return {
    privateKeyOpenssh:
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----\n",
    publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\n",
  };
}

const variants = {
  default: renderUserData({ hostKey: hostKey(), volumeName: "dropstack-dev-data" }),
  "another stack": renderUserData({ hostKey: hostKey(), volumeName: "dropstack-prod-eu-data" }),
};

/** The shell scripts user_data writes to the node. */
function shellScripts(userData: string): { path: string; content: string }[] {
  const doc = YAML.parse(userData);
  return doc.write_files.filter((f: any) => /^#!\/bin\/(ba)?sh/.test(f.content));
}

describe.each(Object.entries(variants))("the %s user_data", (_, userData) => {
  testWithTool("cloud-init", ["--help"])("passes cloud-init's own schema check", () => {
    const file = path.join(tmp, "user-data.yaml");
    fs.writeFileSync(file, userData);
    const result = run("cloud-init", ["schema", "--config-file", file]);
    expect(result.output).toContain("Valid cloud-config");
    expect(result.status).toBe(0);
  });

  testWithTool("shellcheck")("has shell scripts that all pass shellcheck", () => {
    const scripts = shellScripts(userData);
    expect(scripts.map((s) => s.path).sort()).toEqual([
      "/usr/local/sbin/dropstack-block-metadata",
      "/usr/local/sbin/dropstack-mount-data",
      "/usr/local/sbin/dropstack-swap",
    ]);
    for (const script of scripts) {
      const result = run("shellcheck", ["-"], script.content);
      expect({ path: script.path, ...result }).toEqual({
        path: script.path,
        status: 0,
        output: "",
      });
    }
  });

  test("never reloads a unit that may not be running (a failed runcmd fails cloud-init)", () => {
    const doc = YAML.parse(userData);
    const reloads = doc.runcmd.filter(
      (entry: string[]) =>
        entry[0] === "systemctl" && /reload/.test(entry[1]) && entry[1] !== "daemon-reload",
    );
    expect(reloads).toEqual([["systemctl", "try-reload-or-restart", "ssh.service"]]);
  });

  test("runs only argument lists in runcmd, so no unchecked shell hides there", () => {
    const doc = YAML.parse(userData);
    for (const entry of doc.runcmd) expect(Array.isArray(entry)).toBe(true);
  });
});

describe("rendered user_data", () => {
  test("reads as reviewed (snapshot: update it with `npx jest -u` after reading the diff)", () => {
    const key = {
      privateKeyOpenssh:
        "-----BEGIN OPENSSH PRIVATE KEY-----\n(host key)\n-----END OPENSSH PRIVATE KEY-----\n",
      publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\n",
    };
    expect(renderUserData({ hostKey: key, volumeName: "dropstack-dev-data" })).toMatchSnapshot();
  });

  test("reads the same however often it is rendered, so the droplet is never replaced for nothing", () => {
    const key = hostKey();
    expect(renderUserData({ hostKey: key, volumeName: "v" })).toBe(
      renderUserData({ hostKey: key, volumeName: "v" }),
    );
  });

  test("carries none of the template's YAML comments or blank lines, so rewording one replaces no droplet", () => {
    const text = renderUserData({ hostKey: hostKey(), volumeName: "v" });
    const template = fs.readFileSync(
      path.join(__dirname, "..", "cloud-init", "cloud-config.yaml"),
      "utf8",
    );
    // The template has both, outside its scripts.
    expect(template).toMatch(/^# The node's user_data/m);
    expect(template).toMatch(/\n\n[a-z_]+:/);
    const doc = YAML.parseDocument(text);
    expect(doc.commentBefore).toBe("cloud-config");
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const left: string[] = [];
    YAML.visit(doc, {
      Node(_key, node) {
        if (node.commentBefore || node.comment || node.spaceBefore) left.push(String(node));
      },
    });
    expect(left).toEqual([]);
  });

  test("installs Docker and compose, turns off password login and pins the given host key", () => {
    const key = hostKey();
    const doc = YAML.parse(renderUserData({ hostKey: key, volumeName: "v" }));
    expect(doc.packages).toEqual(
      expect.arrayContaining(["docker.io", "docker-compose-v2", "unattended-upgrades"]),
    );
    expect(doc.ssh_pwauth).toBe(false);
    expect(doc.ssh_keys).toEqual({
      ed25519_private: key.privateKeyOpenssh,
      ed25519_public: key.publicKeyOpenssh.trim(),
    });
    const daemon = JSON.parse(
      doc.write_files.find((f: any) => f.path === "/etc/docker/daemon.json").content,
    );
    expect(daemon).toEqual({
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "3" },
      "live-restore": true,
    });
  });

  test("blocks containers from the metadata address after every Docker start", () => {
    const doc = YAML.parse(renderUserData({ hostKey: hostKey(), volumeName: "v" }));
    const unit = doc.write_files.find((f: any) =>
      f.path.endsWith("dropstack-block-metadata.service"),
    ).content;
    expect(unit).toContain("WantedBy=docker.service");
    expect(unit).toContain("BindsTo=docker.service");
    const script = doc.write_files.find(
      (f: any) => f.path === "/usr/local/sbin/dropstack-block-metadata",
    ).content;
    expect(script).toContain('rule="-d 169.254.169.254/32 -j DROP"');
    expect(script).toContain("DOCKER-USER");
  });

  test("names the data volume's device by its DigitalOcean id", () => {
    const doc = YAML.parse(renderUserData({ hostKey: hostKey(), volumeName: "dropstack-x-data" }));
    const env = doc.write_files.find((f: any) => f.path === "/etc/dropstack/node.env").content;
    expect(env).toBe(
      "DATA_DEVICE=/dev/disk/by-id/scsi-0DO_Volume_dropstack-x-data\nDATA_MOUNT=/mnt/data\n",
    );
  });
});

testWithTool("shellcheck")(
  "every shell script of the project, and .ci/run, pass shellcheck",
  () => {
    const root = path.join(__dirname, "..");
    const scripts = (dir: string): string[] =>
      fs
        .readdirSync(path.join(root, dir), { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory()
            ? scripts(path.join(dir, e.name))
            : e.name.endsWith(".sh")
              ? [path.join(dir, e.name)]
              : [],
        );
    const files = [
      ...scripts("cloud-init"),
      ...scripts("scripts"),
      ...scripts("images"),
      ".ci/run",
    ];
    expect(files).toEqual(
      expect.arrayContaining(["cloud-init/wait-ready.sh", "scripts/image-inspect.sh"]),
    );
    for (const file of files) {
      const result = run("shellcheck", [path.join(__dirname, "..", file)]);
      expect({ file, ...result }).toEqual({ file, status: 0, output: "" });
    }
  },
);
