import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

/** Where the node mounts its DigitalOcean data volume. */
export const DATA_MOUNT = "/mnt/data";

export interface UserDataArgs {
  /** The node's SSH host key pair, OpenSSH format: the client pins the public half. */
  hostKey: { privateKeyOpenssh: string; publicKeyOpenssh: string };
  /**
   * Name of the DigitalOcean data volume; its device is /dev/disk/by-id/scsi-0DO_Volume_<name>.
   * Undefined for a cluster node that holds no data: nothing is mounted.
   */
  volumeName?: string;
}

const TEMPLATE = path.join(__dirname, "cloud-config.yaml");

/**
 * Renders the node's user_data: the cloud-config template plus the per-stack host key and data
 * volume. Pure: the same arguments always give the same text.
 */
export function renderUserData(args: UserDataArgs): string {
  const doc = YAML.parseDocument(fs.readFileSync(TEMPLATE, "utf8"));
  doc.set("ssh_keys", {
    ed25519_private: args.hostKey.privateKeyOpenssh,
    ed25519_public: args.hostKey.publicKeyOpenssh.trim(),
  });
  const writeFiles = doc.get("write_files") as YAML.YAMLSeq;
  writeFiles.items.unshift(
    doc.createNode({
      path: "/etc/dropstack/node.env",
      permissions: "0644",
      content:
        args.volumeName === undefined
          ? ""
          : `DATA_DEVICE=${dataDevice(args.volumeName)}\nDATA_MOUNT=${DATA_MOUNT}\n`,
    }),
  );
  if (args.volumeName === undefined) {
    // No volume to mount: leave the mount script out, so a node's user_data with a volume stays
    // byte for byte what it was (DigitalOcean replaces a droplet whose user_data changes).
    const isMount = (item: unknown) =>
      JSON.stringify(item).includes("/usr/local/sbin/dropstack-mount-data");
    writeFiles.items = writeFiles.items.filter((item) => !isMount((item as YAML.Node).toJSON()));
    const runcmd = doc.get("runcmd") as YAML.YAMLSeq;
    runcmd.items = runcmd.items.filter((item) => !isMount((item as YAML.Node).toJSON()));
  }
  // Without the template's YAML comments and blank lines, which are for us, not the node:
  // DigitalOcean replaces a droplet whose user_data changes, and a reworded comment must not.
  // The scripts' own comments are content and stay.
  const bare = (node: YAML.Node) => {
    node.commentBefore = undefined;
    node.comment = undefined;
    node.spaceBefore = undefined;
  };
  YAML.visit(doc, {
    Node: (_key, node) => bare(node),
    Pair: (_key, pair) => (YAML.isNode(pair.key) ? bare(pair.key) : undefined),
  });
  doc.commentBefore = "cloud-config";
  doc.comment = null;
  return doc.toString({ lineWidth: 0 });
}

/** The stable device path DigitalOcean gives an attached volume. */
export function dataDevice(volumeName: string): string {
  return `/dev/disk/by-id/scsi-0DO_Volume_${volumeName}`;
}
