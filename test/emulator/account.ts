// The account, its SSH keys and tags, and what DigitalOcean offers (regions, sizes, images).
import { createHash } from "crypto";
import { IMAGES, imageInfo, REGIONS, SIZES } from "./catalog";
import { notFound, page, Router, unprocessable } from "./http";
import { EmulatorState, SshKeyRecord } from "./state";

export const ACCOUNT = {
  droplet_limit: 25,
  floating_ip_limit: 3,
  reserved_ip_limit: 3,
  volume_limit: 100,
  email: "emulator@dropstack.invalid",
  name: "dropstack emulator",
  uuid: "6b4ea1c6-5b2c-4c1f-9d25-3b0f5e6d7a01",
  email_verified: true,
  status: "active",
  status_message: "",
  team: { uuid: "0d4b7e3a-8c53-4a8e-bb1e-6e1b9f1f2c02", name: "My Team" },
};

const KEY_TYPES = [
  "ssh-rsa",
  "ssh-dss",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-ed25519",
];

/**
 * DigitalOcean's fingerprint of an OpenSSH public key line: the MD5 of the key's blob, as
 * colon-separated hex pairs; undefined when the line is no public key it takes.
 */
export function fingerprint(publicKey: string): string | undefined {
  const [type, data] = publicKey.trim().split(/\s+/);
  if (!KEY_TYPES.includes(type) || data === undefined || !/^[A-Za-z0-9+/]+=*$/.test(data))
    return undefined;
  const blob = Buffer.from(data, "base64");
  // The blob starts with its own type as an SSH string: a 4-byte length, then the name.
  if (blob.length < 4 || blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() !== type)
    return undefined;
  return createHash("md5")
    .update(blob)
    .digest("hex")
    .replace(/(..)(?!$)/g, "$1:");
}

export function keyView(k: SshKeyRecord) {
  return { id: k.id, fingerprint: k.fingerprint, public_key: k.publicKey, name: k.name };
}

/** A key by ID or fingerprint, as the API's /v2/account/keys/:id_or_fingerprint takes it. */
export function findKey(state: EmulatorState, idOrFingerprint: string): SshKeyRecord | undefined {
  if (/^\d+$/.test(idOrFingerprint)) return state.sshKeys.get(Number(idOrFingerprint));
  return [...state.sshKeys.values()].find((k) => k.fingerprint === idOrFingerprint);
}

const TAG_NAME = /^[a-zA-Z0-9_\-:]{1,255}$/;

export function checkTag(name: unknown): string {
  if (typeof name !== "string" || !TAG_NAME.test(name))
    throw unprocessable(
      "tag names must be 1 to 255 letters, digits, underscores, dashes or colons",
    );
  return name;
}

/** Makes each tag a resource carries exist, as DigitalOcean does when a resource is tagged. */
export function ensureTags(state: EmulatorState, tags: string[]): void {
  for (const t of tags) state.tags.add(checkTag(t));
}

function tagView(state: EmulatorState, name: string) {
  const droplets = [...state.droplets.values()].filter((d) => d.tags.includes(name));
  const volumes = [...state.volumes.values()].filter((v) => v.tags.includes(name));
  const count = droplets.length + volumes.length;
  const dropletUri = droplets.length ? `/v2/droplets/${droplets.at(-1)!.id}` : undefined;
  const volumeUri = volumes.length ? `/v2/volumes/${volumes.at(-1)!.id}` : undefined;
  return {
    name,
    resources: {
      count,
      ...(count > 0 ? { last_tagged_uri: volumeUri ?? dropletUri } : {}),
      droplets: { count: droplets.length, ...(dropletUri ? { last_tagged_uri: dropletUri } : {}) },
      images: { count: 0 },
      volumes: { count: volumes.length, ...(volumeUri ? { last_tagged_uri: volumeUri } : {}) },
      volume_snapshots: { count: 0 },
      databases: { count: 0 },
    },
  };
}

/** The tags list of the resource a tag request names; 404 for one that does not exist. */
function taggable(state: EmulatorState, resource: any): string[] | undefined {
  const id = String(resource?.resource_id ?? "");
  switch (resource?.resource_type) {
    case "droplet": {
      const d = state.droplets.get(Number(id));
      if (d === undefined) throw notFound();
      return d.tags;
    }
    case "volume": {
      const v = state.volumes.get(id);
      if (v === undefined) throw notFound();
      return v.tags;
    }
    case "image":
    case "volume_snapshot":
    case "database":
      // Not emulated: nothing of these kinds exists, so nothing carries the tag.
      throw notFound();
    default:
      throw unprocessable(`resource_type ${JSON.stringify(resource?.resource_type)} is not valid`);
  }
}

export function accountRoutes(r: Router, state: EmulatorState): void {
  r.add("GET", "/v2/account", () => ({ status: 200, body: { account: ACCOUNT } }));

  r.add("GET", "/v2/regions", (call) => page(call, "regions", REGIONS));
  r.add("GET", "/v2/sizes", (call) => page(call, "sizes", SIZES));
  r.add("GET", "/v2/images", (call) => {
    // Only public distribution images exist here: no snapshots, backups or custom images.
    const type = call.query.get("type");
    const privateOnly = call.query.get("private") === "true";
    return page(
      call,
      "images",
      type === null || type === "distribution" ? (privateOnly ? [] : IMAGES) : [],
    );
  });
  r.add("GET", "/v2/images/:id", (call) => {
    const image = imageInfo(call.params.id);
    if (image === undefined) throw notFound();
    return { status: 200, body: { image } };
  });

  // SSH keys.
  r.add("GET", "/v2/account/keys", (call) =>
    page(call, "ssh_keys", [...state.sshKeys.values()].map(keyView)),
  );
  r.add("POST", "/v2/account/keys", (call) => {
    const { name, public_key: publicKey } = call.body ?? {};
    if (typeof name !== "string" || name.trim() === "") throw unprocessable("Name can't be blank");
    if (typeof publicKey !== "string") throw unprocessable("Public key can't be blank");
    const fp = fingerprint(publicKey);
    if (fp === undefined)
      throw unprocessable(
        `Key invalid type, we support ${KEY_TYPES.map((t) => `'${t}'`).join(", ")}`,
      );
    if ([...state.sshKeys.values()].some((k) => k.fingerprint === fp))
      throw unprocessable("SSH Key is already in use on your account");
    const key: SshKeyRecord = { id: state.nextKeyId(), name, fingerprint: fp, publicKey };
    state.sshKeys.set(key.id, key);
    return { status: 201, body: { ssh_key: keyView(key) } };
  });
  r.add("GET", "/v2/account/keys/:key", (call) => {
    const key = findKey(state, call.params.key);
    if (key === undefined) throw notFound();
    return { status: 200, body: { ssh_key: keyView(key) } };
  });
  r.add("PUT", "/v2/account/keys/:key", (call) => {
    const key = findKey(state, call.params.key);
    if (key === undefined) throw notFound();
    const name = call.body?.name;
    if (typeof name === "string" && name.trim() !== "") key.name = name;
    return { status: 200, body: { ssh_key: keyView(key) } };
  });
  r.add("DELETE", "/v2/account/keys/:key", (call) => {
    const key = findKey(state, call.params.key);
    if (key === undefined) throw notFound();
    state.sshKeys.delete(key.id);
    return { status: 204 };
  });

  // Tags.
  r.add("GET", "/v2/tags", (call) =>
    page(
      call,
      "tags",
      [...state.tags].map((t) => tagView(state, t)),
    ),
  );
  r.add("POST", "/v2/tags", (call) => {
    // Creating a tag that exists answers it, as DigitalOcean does (the provider relies on it).
    const name = checkTag(call.body?.name);
    state.tags.add(name);
    return { status: 201, body: { tag: tagView(state, name) } };
  });
  r.add("GET", "/v2/tags/:name", (call) => {
    if (!state.tags.has(call.params.name)) throw notFound();
    return { status: 200, body: { tag: tagView(state, call.params.name) } };
  });
  r.add("DELETE", "/v2/tags/:name", (call) => {
    const name = call.params.name;
    if (!state.tags.delete(name)) throw notFound();
    for (const owner of [...state.droplets.values(), ...state.volumes.values()]) {
      const i = owner.tags.indexOf(name);
      if (i >= 0) owner.tags.splice(i, 1);
    }
    return { status: 204 };
  });
  r.add("POST", "/v2/tags/:name/resources", (call) => {
    const name = call.params.name;
    if (!state.tags.has(name)) throw notFound();
    const lists = resourcesOf(call.body).map((res) => taggable(state, res));
    for (const tags of lists) if (tags && !tags.includes(name)) tags.push(name);
    return { status: 204 };
  });
  r.add("DELETE", "/v2/tags/:name/resources", (call) => {
    const name = call.params.name;
    if (!state.tags.has(name)) throw notFound();
    const lists = resourcesOf(call.body).map((res) => taggable(state, res));
    for (const tags of lists) {
      const i = tags?.indexOf(name) ?? -1;
      if (i >= 0) tags!.splice(i, 1);
    }
    return { status: 204 };
  });
}

function resourcesOf(body: any): unknown[] {
  const resources = body?.resources;
  if (!Array.isArray(resources) || resources.length === 0)
    throw unprocessable("resources must be a non-empty array");
  return resources;
}
