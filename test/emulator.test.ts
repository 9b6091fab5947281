// The emulated DigitalOcean API (test/emulator/api.ts), over HTTP on 127.0.0.1: each resource's
// lifecycle in the shapes godo decodes, pagination, auth, unknown calls and the request log.
import { spawnSync } from "child_process";
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BootResult, Emulator, startEmulator } from "./emulator/api";

const TOKEN = "emulator-test-token";

/** An OpenSSH public key line for a fresh ed25519 key. */
function publicKeyLine(comment = "test"): string {
  const der = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "der" });
  const raw = der.subarray(der.length - 32);
  const part = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([part(Buffer.from("ssh-ed25519")), part(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
}

/** ssh-keygen's MD5 fingerprint of a public key line, or undefined without ssh-keygen. */
function sshKeygenMd5(line: string): string | undefined {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "emu-key-")), "key.pub");
  fs.writeFileSync(file, `${line}\n`);
  const r = spawnSync("ssh-keygen", ["-l", "-E", "md5", "-f", file], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return /MD5:([0-9a-f:]+)/.exec(r.stdout)?.[1];
}

/** A bootDroplet whose boots finish when the test says so. */
function manualBoot() {
  const pending = new Map<number, (r: BootResult | Error) => void>();
  return {
    bootDroplet: (d: { id: number }) =>
      new Promise<BootResult>((resolve, reject) =>
        pending.set(d.id, (r) => (r instanceof Error ? reject(r) : resolve(r))),
      ),
    finish(id: number, r: BootResult | Error) {
      pending.get(id)!(r);
      pending.delete(id);
    },
  };
}

let emu: Emulator;

async function api(method: string, route: string, body?: unknown, token: string | null = TOKEN) {
  const res = await fetch(`${emu.url}${route}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** Lets the emulator's pending work (boots, actions) run. */
const settle = () => new Promise((r) => setTimeout(r, 20));

async function newKey(name = "deploy") {
  const r = await api("POST", "/v2/account/keys", { name, public_key: publicKeyLine() });
  expect(r.status).toBe(201);
  return r.body.ssh_key;
}

async function newVolume(fields: Record<string, unknown> = {}) {
  const r = await api("POST", "/v2/volumes", {
    name: "app-data",
    region: "nyc3",
    size_gigabytes: 10,
    filesystem_type: "ext4",
    description: "data",
    tags: [],
    ...fields,
  });
  expect(r.status).toBe(201);
  return r.body.volume;
}

async function newDroplet(fields: Record<string, unknown> = {}) {
  const r = await api("POST", "/v2/droplets", {
    name: "app",
    region: "nyc3",
    size: "s-2vcpu-2gb",
    image: "ubuntu-24-04-x64",
    ssh_keys: [],
    backups: false,
    ipv6: false,
    private_networking: false,
    monitoring: true,
    tags: ["dropstack"],
    user_data: "#cloud-config\n",
    ...fields,
  });
  expect(r.status).toBe(202);
  return r.body;
}

describe("the emulated DigitalOcean API", () => {
  afterEach(async () => {
    await emu.stop();
  });

  describe("with instant boots", () => {
    beforeEach(async () => {
      emu = await startEmulator();
    });

    test("listens on loopback", () => {
      expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    });

    test("refuses calls without a bearer token, as DigitalOcean does", async () => {
      expect(await api("GET", "/v2/account", undefined, null)).toEqual({
        status: 401,
        body: { id: "unauthorized", message: "Unable to authenticate you" },
      });
      const basic = await fetch(`${emu.url}/v2/account`, { headers: { authorization: "Basic x" } });
      expect(basic.status).toBe(401);
      expect((await api("GET", "/v2/account")).status).toBe(200);
    });

    test("fails an unknown call loudly, records it and counts it", async () => {
      const r = await api("POST", "/v2/kubernetes/clusters", { name: "k" });
      expect(r).toEqual({
        status: 404,
        body: {
          id: "not_found",
          message: "dropstack emulator: no route for POST /v2/kubernetes/clusters",
        },
      });
      expect(emu.unknown).toEqual([
        expect.objectContaining({ method: "POST", path: "/v2/kubernetes/clusters", status: 404 }),
      ]);
      // A known route for something missing is DigitalOcean's 404, not an unknown call.
      const missing = await api("GET", "/v2/droplets/999");
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe("The resource you were accessing could not be found.");
      expect(emu.unknown).toHaveLength(1);
    });

    test("records every call: method, path, query, body and status", async () => {
      await api("GET", "/v2/sizes?page=1&per_page=200");
      await api("POST", "/v2/tags", { name: "web" });
      expect(emu.requests.every((r) => typeof r.at === "number")).toBe(true);
      expect(emu.requests.map((r) => ({ ...r, at: 0 }))).toEqual([
        {
          method: "GET",
          path: "/v2/sizes",
          query: { page: "1", per_page: "200" },
          body: undefined,
          status: 200,
          at: 0,
        },
        { method: "POST", path: "/v2/tags", query: {}, body: { name: "web" }, status: 201, at: 0 },
      ]);
    });

    test("answers the account", async () => {
      const r = await api("GET", "/v2/account");
      expect(r.body.account).toMatchObject({
        droplet_limit: 25,
        status: "active",
        uuid: expect.any(String),
      });
    });

    test("lists sizes at DigitalOcean's prices", async () => {
      const { body } = await api("GET", "/v2/sizes?per_page=200");
      const bySlug = Object.fromEntries(body.sizes.map((s: any) => [s.slug, s]));
      expect(
        Object.fromEntries(
          ["s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb"].map((s) => [
            s,
            [bySlug[s].price_monthly, bySlug[s].vcpus, bySlug[s].memory, bySlug[s].disk],
          ]),
        ),
      ).toEqual({
        "s-1vcpu-1gb": [6, 1, 1024, 25],
        "s-1vcpu-2gb": [12, 1, 2048, 50],
        "s-2vcpu-2gb": [18, 2, 2048, 60],
        "s-2vcpu-4gb": [24, 2, 4096, 80],
        "s-4vcpu-8gb": [48, 4, 8192, 160],
      });
      expect(bySlug["s-2vcpu-2gb"]).toMatchObject({
        price_hourly: 0.02679,
        available: true,
        regions: expect.arrayContaining(["nyc3", "fra1"]),
        transfer: 3,
      });
      expect(body.meta.total).toBe(body.sizes.length);
      expect(body.links).toEqual({});
    });

    test("pages lists as godo reads them: links.pages with page numbers, meta.total", async () => {
      const first = (await api("GET", "/v2/regions?per_page=5")).body;
      const total = first.meta.total;
      expect(total).toBeGreaterThan(10);
      expect(first.regions).toHaveLength(5);
      expect(first.links.pages.first).toBeUndefined();
      expect(new URL(first.links.pages.next).searchParams.get("page")).toBe("2");
      const lastPage = Math.ceil(total / 5);
      expect(new URL(first.links.pages.last).searchParams.get("page")).toBe(String(lastPage));
      // Walk as the provider does: next until there is none.
      const slugs: string[] = [];
      let next: string | undefined = `${emu.url}/v2/regions?per_page=5`;
      while (next !== undefined) {
        const u: URL = new URL(next);
        const r = await api("GET", `${u.pathname}${u.search}`);
        slugs.push(...r.body.regions.map((x: any) => x.slug));
        next = r.body.links.pages?.next;
        if (next === undefined) expect(r.body.links.pages.prev).toBeDefined();
      }
      expect(new Set(slugs).size).toBe(total);
      expect(slugs).toEqual(expect.arrayContaining(["nyc3", "nyc2"]));
    });

    test("lists regions: open ones with their sizes, closed ones unavailable", async () => {
      const { regions } = (await api("GET", "/v2/regions?per_page=200")).body;
      const nyc3 = regions.find((r: any) => r.slug === "nyc3");
      expect(nyc3).toMatchObject({
        name: "New York 3",
        available: true,
        features: expect.arrayContaining(["storage", "ipv6", "backups"]),
        sizes: expect.arrayContaining(["s-2vcpu-2gb", "s-4vcpu-8gb"]),
      });
      expect(regions.find((r: any) => r.slug === "nyc2")).toMatchObject({
        available: false,
        sizes: [],
      });
    });

    test("SSH keys: create, get by ID or fingerprint, rename, list, delete", async () => {
      const line = publicKeyLine("me@host");
      const created = await api("POST", "/v2/account/keys", { name: "deploy", public_key: line });
      expect(created.status).toBe(201);
      const key = created.body.ssh_key;
      expect(key).toEqual({
        id: expect.any(Number),
        name: "deploy",
        public_key: line,
        fingerprint: expect.stringMatching(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/),
      });
      const md5 = sshKeygenMd5(line);
      if (md5 !== undefined) expect(key.fingerprint).toBe(md5);

      expect((await api("GET", `/v2/account/keys/${key.id}`)).body.ssh_key).toEqual(key);
      expect((await api("GET", `/v2/account/keys/${key.fingerprint}`)).body.ssh_key).toEqual(key);
      const again = await api("POST", "/v2/account/keys", { name: "twice", public_key: line });
      expect(again).toMatchObject({
        status: 422,
        body: { message: "SSH Key is already in use on your account" },
      });
      const bad = await api("POST", "/v2/account/keys", { name: "bad", public_key: "nonsense" });
      expect(bad.status).toBe(422);

      const renamed = await api("PUT", `/v2/account/keys/${key.id}`, { name: "renamed" });
      expect(renamed.body.ssh_key.name).toBe("renamed");
      expect((await api("GET", "/v2/account/keys")).body).toMatchObject({
        ssh_keys: [{ id: key.id, name: "renamed" }],
        meta: { total: 1 },
      });
      expect((await api("DELETE", `/v2/account/keys/${key.fingerprint}`)).status).toBe(204);
      expect((await api("GET", `/v2/account/keys/${key.id}`)).status).toBe(404);
    });

    test("a droplet boots at once by default, on 127.0.0.N from 10 up", async () => {
      const a = await newDroplet({ name: "a" });
      const b = await newDroplet({ name: "b" });
      await settle();
      const ips = await Promise.all(
        [a, b].map(async (x) => {
          const d = (await api("GET", `/v2/droplets/${x.droplet.id}`)).body.droplet;
          expect(d.status).toBe("active");
          return d.networks.v4.find((n: any) => n.type === "public").ip_address;
        }),
      );
      expect(ips).toEqual(["127.0.0.10", "127.0.0.11"]);
      const create = await api("GET", `/v2/actions/${a.links.actions[0].id}`);
      expect(create.body.action).toMatchObject({
        type: "create",
        status: "completed",
        completed_at: expect.any(String),
        resource_id: a.droplet.id,
        resource_type: "droplet",
        region_slug: "nyc3",
      });
    });

    test("droplet create refuses what DigitalOcean refuses", async () => {
      const bad = async (fields: Record<string, unknown>) =>
        (await api("POST", "/v2/droplets", {
          name: "x",
          region: "nyc3",
          size: "s-1vcpu-1gb",
          image: "ubuntu-24-04-x64",
          ...fields,
        })) as { status: number; body: any };
      expect((await bad({ size: "s-99" })).status).toBe(422);
      expect((await bad({ region: "xyz1" })).status).toBe(422);
      expect((await bad({ region: "nyc2" })).status).toBe(422);
      expect((await bad({ size: "g-2vcpu-8gb", region: "lon1" })).body.message).toBe(
        "Size is not available in this region.",
      );
      expect((await bad({ image: "windows-11" })).status).toBe(422);
      expect((await bad({ ssh_keys: ["aa:bb"] })).status).toBe(422);
      expect((await bad({ name: "no spaces" })).status).toBe(422);
      expect((await bad({ user_data: "x".repeat(64 * 1024 + 1) })).status).toBe(422);
      expect(emu.state.droplets.size).toBe(0);
    });

    test("droplet list filters by tag and by name, and pages", async () => {
      await newDroplet({ name: "one", tags: ["web"] });
      await newDroplet({ name: "two", tags: ["db"] });
      await newDroplet({ name: "three", tags: ["web", "db"] });
      const names = async (q: string) =>
        (await api("GET", `/v2/droplets${q}`)).body.droplets.map((d: any) => d.name);
      expect(await names("?tag_name=web")).toEqual(["one", "three"]);
      expect(await names("?name=two")).toEqual(["two"]);
      const paged = (await api("GET", "/v2/droplets?per_page=2&page=2")).body;
      expect(paged.droplets.map((d: any) => d.name)).toEqual(["three"]);
      expect(paged.meta.total).toBe(3);
      // Tags a droplet carries exist.
      const tags = (await api("GET", "/v2/tags")).body.tags.map((t: any) => t.name);
      expect(tags.sort()).toEqual(["db", "web"]);
    });

    test("volumes: create, unique names per region, attach, detach, resize, delete", async () => {
      const v = await newVolume({ tags: ["data"] });
      expect(v).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: "app-data",
        region: { slug: "nyc3", name: "New York 3" },
        size_gigabytes: 10,
        filesystem_type: "ext4",
        filesystem_label: "",
        description: "data",
        droplet_ids: [],
        tags: ["data"],
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      const dup = await api("POST", "/v2/volumes", {
        name: "app-data",
        region: "nyc3",
        size_gigabytes: 1,
      });
      expect(dup.status).toBe(409);
      expect(dup.body.id).toBe("conflict");
      await newVolume({ region: "fra1" });
      expect(
        (await api("POST", "/v2/volumes", { name: "Bad_Name", region: "nyc3", size_gigabytes: 1 }))
          .status,
      ).toBe(422);
      const byName = (await api("GET", "/v2/volumes?name=app-data&region=fra1")).body;
      expect(byName.volumes).toHaveLength(1);
      expect(byName.volumes[0].region.slug).toBe("fra1");

      const { droplet } = await newDroplet();
      await settle();
      const attach = await api("POST", `/v2/volumes/${v.id}/actions`, {
        type: "attach",
        droplet_id: droplet.id,
        region: "nyc3",
      });
      expect(attach.status).toBe(201);
      expect(attach.body.action).toMatchObject({ type: "attach_volume", status: "in-progress" });
      await settle();
      expect((await api("GET", `/v2/actions/${attach.body.action.id}`)).body.action.status).toBe(
        "completed",
      );
      expect(
        (await api("GET", `/v2/volumes/${v.id}/actions/${attach.body.action.id}`)).body.action
          .status,
      ).toBe("completed");
      expect((await api("GET", `/v2/volumes/${v.id}`)).body.volume.droplet_ids).toEqual([
        droplet.id,
      ]);
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet.volume_ids).toEqual([
        v.id,
      ]);
      const attached = await api("DELETE", `/v2/volumes/${v.id}`);
      expect(attached.status).toBe(409);
      expect(attached.body.message).toMatch(/attached to a Droplet cannot be deleted/);

      const grow = await api("POST", `/v2/volumes/${v.id}/actions`, {
        type: "resize",
        size_gigabytes: 20,
        region: "nyc3",
      });
      expect(grow.status).toBe(201);
      const shrink = await api("POST", `/v2/volumes/${v.id}/actions`, {
        type: "resize",
        size_gigabytes: 5,
        region: "nyc3",
      });
      expect(shrink.status).toBe(422);
      expect((await api("GET", `/v2/volumes/${v.id}`)).body.volume.size_gigabytes).toBe(20);

      const detach = await api("POST", "/v2/volumes/actions", {
        type: "detach",
        volume_name: "app-data",
        region: "nyc3",
        droplet_id: droplet.id,
      });
      expect(detach.status).toBe(201);
      expect((await api("GET", `/v2/volumes/${v.id}`)).body.volume.droplet_ids).toEqual([]);
      const again = await api("POST", `/v2/volumes/${v.id}/actions`, {
        type: "detach",
        droplet_id: droplet.id,
      });
      expect(again).toMatchObject({ status: 422, body: { message: "Attachment not found" } });
      expect((await api("DELETE", `/v2/volumes/${v.id}`)).status).toBe(204);
      expect((await api("GET", `/v2/volumes/${v.id}`)).status).toBe(404);
    });

    test("firewalls: create, read back, update, droplets, delete", async () => {
      const { droplet } = await newDroplet();
      const request = {
        name: "app",
        droplet_ids: [droplet.id],
        inbound_rules: [
          { protocol: "tcp", ports: "22", sources: { addresses: ["0.0.0.0/0", "::/0"] } },
          { protocol: "icmp", sources: { addresses: ["0.0.0.0/0"] } },
        ],
        outbound_rules: [
          { protocol: "tcp", ports: "1-65535", destinations: { addresses: ["0.0.0.0/0", "::/0"] } },
          { protocol: "udp", ports: "all", destinations: { addresses: ["0.0.0.0/0"] } },
        ],
        tags: [],
      };
      const created = await api("POST", "/v2/firewalls", request);
      expect(created.status).toBe(202);
      const id = created.body.firewall.id;
      const fw = (await api("GET", `/v2/firewalls/${id}`)).body.firewall;
      expect(fw).toEqual({
        id,
        name: "app",
        status: "succeeded",
        created_at: expect.any(String),
        droplet_ids: [droplet.id],
        tags: [],
        pending_changes: [],
        inbound_rules: [
          { protocol: "tcp", ports: "22", sources: { addresses: ["0.0.0.0/0", "::/0"] } },
          // DigitalOcean answers "0" for an ICMP rule's ports and for "all".
          { protocol: "icmp", ports: "0", sources: { addresses: ["0.0.0.0/0"] } },
        ],
        outbound_rules: [
          { protocol: "tcp", ports: "1-65535", destinations: { addresses: ["0.0.0.0/0", "::/0"] } },
          { protocol: "udp", ports: "0", destinations: { addresses: ["0.0.0.0/0"] } },
        ],
      });
      const updated = await api("PUT", `/v2/firewalls/${id}`, {
        ...request,
        name: "renamed",
        inbound_rules: request.inbound_rules.slice(0, 1),
      });
      expect(updated.status).toBe(200);
      expect(updated.body.firewall).toMatchObject({
        name: "renamed",
        inbound_rules: [{ ports: "22" }],
      });
      expect(
        (await api("DELETE", `/v2/firewalls/${id}/droplets`, { droplet_ids: [droplet.id] })).status,
      ).toBe(204);
      expect((await api("GET", `/v2/firewalls/${id}`)).body.firewall.droplet_ids).toEqual([]);
      expect(
        (await api("POST", `/v2/firewalls/${id}/droplets`, { droplet_ids: [droplet.id] })).status,
      ).toBe(204);
      expect(
        (await api("GET", `/v2/droplets/${droplet.id}/firewalls`)).body.firewalls,
      ).toHaveLength(1);
      const noPorts = await api("POST", "/v2/firewalls", {
        name: "bad",
        inbound_rules: [{ protocol: "tcp", sources: { addresses: ["0.0.0.0/0"] } }],
      });
      expect(noPorts.status).toBe(422);
      expect((await api("DELETE", `/v2/firewalls/${id}`)).status).toBe(204);
      expect((await api("GET", `/v2/firewalls/${id}`)).status).toBe(404);
    });

    test("deleting a droplet detaches its volumes and leaves its firewalls", async () => {
      const v = await newVolume();
      const { droplet } = await newDroplet({ volumes: [{ id: v.id }] });
      expect(droplet.volume_ids).toEqual([v.id]);
      expect(emu.state.volumes.get(v.id)!.dropletIds).toEqual([droplet.id]);
      // A volume attached elsewhere cannot go to a new droplet.
      const taken = await api("POST", "/v2/droplets", {
        name: "other",
        region: "nyc3",
        size: "s-1vcpu-1gb",
        image: "ubuntu-24-04-x64",
        volumes: [{ id: v.id }],
      });
      expect(taken.status).toBe(422);
      const fw = await api("POST", "/v2/firewalls", {
        name: "fw",
        droplet_ids: [droplet.id],
        inbound_rules: [{ protocol: "tcp", ports: "22", sources: { addresses: ["0.0.0.0/0"] } }],
      });
      await settle();
      expect((await api("DELETE", `/v2/droplets/${droplet.id}`)).status).toBe(204);
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).status).toBe(404);
      expect((await api("GET", `/v2/volumes/${v.id}`)).body.volume.droplet_ids).toEqual([]);
      expect(
        (await api("GET", `/v2/firewalls/${fw.body.firewall.id}`)).body.firewall.droplet_ids,
      ).toEqual([]);
      expect((await api("DELETE", `/v2/volumes/${v.id}`)).status).toBe(204);
    });

    test("droplet actions: power, resize, backups, and their action records", async () => {
      const { droplet } = await newDroplet();
      const id = droplet.id;
      await settle();
      const act = async (body: Record<string, unknown>) => {
        const r = await api("POST", `/v2/droplets/${id}/actions`, body);
        await settle();
        return r;
      };
      const status = async () => (await api("GET", `/v2/droplets/${id}`)).body.droplet;

      const resizeOn = await act({ type: "resize", size: "s-4vcpu-8gb", disk: true });
      expect(resizeOn.status).toBe(422);
      const off = await act({ type: "power_off" });
      expect(off.status).toBe(201);
      expect(off.body.action).toMatchObject({
        type: "power_off",
        status: "in-progress",
        completed_at: null,
      });
      expect((await status()).status).toBe("off");
      expect((await act({ type: "power_off" })).body.message).toBe(
        "Droplet is already powered off",
      );
      expect((await act({ type: "shutdown" })).status).toBe(201);
      const resize = await act({ type: "resize", size: "s-4vcpu-8gb", disk: true });
      expect(resize.status).toBe(201);
      const resizedAction = await api("GET", `/v2/droplets/${id}/actions/${resize.body.action.id}`);
      expect(resizedAction.body.action).toMatchObject({ type: "resize", status: "completed" });
      expect((await act({ type: "power_on" })).status).toBe(201);
      const after = await status();
      expect(after).toMatchObject({
        status: "active",
        size_slug: "s-4vcpu-8gb",
        size: { slug: "s-4vcpu-8gb", price_monthly: 48 },
        vcpus: 4,
        memory: 8192,
        disk: 160,
      });
      expect(after.features).not.toContain("backups");
      await act({ type: "enable_backups" });
      expect((await status()).features).toContain("backups");
      await act({ type: "disable_backups" });
      expect((await status()).features).not.toContain("backups");
      await act({ type: "enable_ipv6" });
      expect((await status()).networks.v6).toEqual([
        expect.objectContaining({ type: "public", netmask: 64 }),
      ]);
      const list = (await api("GET", `/v2/droplets/${id}/actions`)).body;
      expect(list.actions.map((a: any) => a.type)).toEqual(
        expect.arrayContaining([
          "create",
          "power_off",
          "shutdown",
          "resize",
          "power_on",
          "enable_backups",
        ]),
      );
      // An action type the emulator does not know is an unknown call.
      expect((await act({ type: "snapshot", name: "s" })).status).toBe(404);
      expect(emu.unknown).toHaveLength(1);
    });

    test("tags: create, tag and untag resources, counts, delete", async () => {
      const { droplet } = await newDroplet({ tags: [] });
      const v = await newVolume();
      expect((await api("POST", "/v2/tags", { name: "team:web" })).status).toBe(201);
      // Creating one that exists answers it (the provider creates before tagging).
      expect((await api("POST", "/v2/tags", { name: "team:web" })).status).toBe(201);
      expect((await api("POST", "/v2/tags", { name: "bad tag" })).status).toBe(422);
      const tag = await api("POST", "/v2/tags/team:web/resources", {
        resources: [
          { resource_id: String(droplet.id), resource_type: "droplet" },
          { resource_id: v.id, resource_type: "volume" },
        ],
      });
      expect(tag.status).toBe(204);
      expect((await api("GET", "/v2/tags/team:web")).body.tag).toMatchObject({
        name: "team:web",
        resources: { count: 2, droplets: { count: 1 }, volumes: { count: 1 } },
      });
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet.tags).toEqual([
        "team:web",
      ]);
      await api("DELETE", "/v2/tags/team:web/resources", {
        resources: [{ resource_id: String(droplet.id), resource_type: "droplet" }],
      });
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet.tags).toEqual([]);
      expect((await api("DELETE", "/v2/tags/team:web")).status).toBe(204);
      expect((await api("GET", `/v2/volumes/${v.id}`)).body.volume.tags).toEqual([]);
      expect((await api("GET", "/v2/tags/team:web")).status).toBe(404);
    });

    test("VPCs: a region's default VPC holds its droplets and their private addresses", async () => {
      expect((await api("GET", "/v2/vpcs")).body.vpcs).toEqual([]);
      const { droplet } = await newDroplet();
      await settle();
      const { vpcs } = (await api("GET", "/v2/vpcs")).body;
      expect(vpcs).toEqual([
        {
          id: droplet.vpc_uuid,
          urn: `do:vpc:${droplet.vpc_uuid}`,
          name: "default-nyc3",
          description: "",
          region: "nyc3",
          ip_range: expect.stringMatching(/^10\.\d+\.\d+\.0\/20$/),
          created_at: expect.any(String),
          default: true,
        },
      ]);
      const d = (await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet;
      const priv = d.networks.v4.find((n: any) => n.type === "private").ip_address;
      expect(priv.split(".").slice(0, 2)).toEqual(vpcs[0].ip_range.split(".").slice(0, 2));
      expect((await api("GET", `/v2/vpcs/${vpcs[0].id}`)).body.vpc.name).toBe("default-nyc3");
      const members = (await api("GET", `/v2/vpcs/${vpcs[0].id}/members`)).body.members;
      expect(members).toEqual([expect.objectContaining({ urn: `do:droplet:${droplet.id}` })]);
    });

    test("domains and records: create, list, filter, update, delete", async () => {
      const created = await api("POST", "/v2/domains", { name: "example.com" });
      expect(created).toMatchObject({ status: 201, body: { domain: { name: "example.com" } } });
      expect((await api("POST", "/v2/domains", { name: "example.com" })).status).toBe(422);
      const { domains } = (await api("GET", "/v2/domains")).body;
      expect(domains).toEqual([{ name: "example.com", ttl: 1800, zone_file: expect.any(String) }]);

      const a = await api("POST", "/v2/domains/example.com/records", {
        type: "A",
        name: "www",
        data: "127.0.0.10",
        priority: 0,
        port: 0,
        ttl: 300,
        weight: 0,
        flags: 0,
      });
      expect(a.status).toBe(201);
      expect(a.body.domain_record).toEqual({
        id: expect.any(Number),
        type: "A",
        name: "www",
        data: "127.0.0.10",
        priority: null,
        port: null,
        ttl: 300,
        weight: null,
        flags: null,
        tag: null,
      });
      const id = a.body.domain_record.id;
      expect(
        (
          await api("POST", "/v2/domains/example.com/records", {
            type: "A",
            name: "x",
            data: "nope",
          })
        ).status,
      ).toBe(422);
      const apex = await api("POST", "/v2/domains/example.com/records", {
        type: "A",
        name: "example.com.",
        data: "127.0.0.11",
      });
      expect(apex.body.domain_record).toMatchObject({ name: "@", ttl: 1800 });

      const filtered = (
        await api("GET", "/v2/domains/example.com/records?type=A&name=www.example.com")
      ).body;
      expect(filtered.domain_records.map((r: any) => r.id)).toEqual([id]);
      const all = (await api("GET", "/v2/domains/example.com/records")).body.domain_records;
      expect(all.map((r: any) => r.type).sort()).toEqual(["A", "A", "NS", "NS", "NS", "SOA"]);

      const updated = await api("PUT", `/v2/domains/example.com/records/${id}`, {
        data: "127.0.0.12",
      });
      expect(updated.body.domain_record).toMatchObject({
        name: "www",
        data: "127.0.0.12",
        ttl: 300,
      });
      expect(
        (await api("GET", `/v2/domains/example.com/records/${id}`)).body.domain_record.data,
      ).toBe("127.0.0.12");
      expect((await api("DELETE", `/v2/domains/example.com/records/${id}`)).status).toBe(204);
      expect((await api("GET", `/v2/domains/example.com/records/${id}`)).status).toBe(404);
      expect((await api("DELETE", "/v2/domains/example.com")).status).toBe(204);
      expect((await api("GET", "/v2/domains/example.com/records")).status).toBe(404);
      expect(emu.state.records.size).toBe(0);
    });
  });

  describe("with boots the test controls", () => {
    let boots: ReturnType<typeof manualBoot>;
    beforeEach(async () => {
      boots = manualBoot();
      emu = await startEmulator({ bootDroplet: boots.bootDroplet });
    });

    test("a droplet is new until bootDroplet resolves, then active with its addresses", async () => {
      const key = await newKey();
      const v = await newVolume();
      const created = await newDroplet({
        ssh_keys: [key.fingerprint],
        volumes: [{ id: v.id }],
        ipv6: true,
        monitoring: true,
        tags: ["dropstack", "dropstack-dev"],
        user_data: "#cloud-config\nruncmd: [true]\n",
      });
      const id = created.droplet.id;
      expect(created.droplet).toMatchObject({ status: "new", networks: { v4: [], v6: [] } });
      expect(created.links.actions).toEqual([
        { id: expect.any(Number), rel: "create", href: expect.stringContaining("/v2/actions/") },
      ]);
      await settle();
      expect((await api("GET", `/v2/droplets/${id}`)).body.droplet.status).toBe("new");
      const action = created.links.actions[0].id;
      expect((await api("GET", `/v2/actions/${action}`)).body.action.status).toBe("in-progress");
      // The record keeps what the API never answers: user_data and the keys.
      const record = emu.state.droplets.get(id)!;
      expect(record.userData).toBe("#cloud-config\nruncmd: [true]\n");
      expect(record.sshKeys.map((k) => k.publicKey)).toEqual([key.public_key]);

      boots.finish(id, { ipv4: "127.0.0.77" });
      await settle();
      const d = (await api("GET", `/v2/droplets/${id}`)).body.droplet;
      expect(d).toEqual({
        id,
        name: "app",
        memory: 2048,
        vcpus: 2,
        disk: 60,
        locked: false,
        status: "active",
        kernel: null,
        created_at: expect.stringMatching(/Z$/),
        features: ["ipv6", "monitoring", "droplet_agent", "private_networking"],
        backup_ids: [],
        next_backup_window: null,
        snapshot_ids: [],
        image: expect.objectContaining({ slug: "ubuntu-24-04-x64", distribution: "Ubuntu" }),
        volume_ids: [v.id],
        size: expect.objectContaining({ slug: "s-2vcpu-2gb", price_monthly: 18 }),
        size_slug: "s-2vcpu-2gb",
        networks: {
          v4: [
            expect.objectContaining({
              type: "private",
              ip_address: expect.stringMatching(/^10\./),
            }),
            expect.objectContaining({ type: "public", ip_address: "127.0.0.77" }),
          ],
          v6: [expect.objectContaining({ type: "public" })],
        },
        region: expect.objectContaining({ slug: "nyc3", name: "New York 3" }),
        tags: ["dropstack", "dropstack-dev"],
        vpc_uuid: expect.any(String),
      });
      expect((await api("GET", `/v2/actions/${action}`)).body.action.status).toBe("completed");
    });

    test("a failed boot leaves the droplet errored and says why", async () => {
      const { droplet } = await newDroplet();
      boots.finish(droplet.id, new Error("no such image"));
      await settle();
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet.status).toBe("errored");
      expect(emu.state.problems).toEqual([
        expect.objectContaining({ error: expect.stringContaining("no such image") }),
      ]);
    });
  });

  describe("with hooks for droplet actions and deletes", () => {
    test("an action stays in progress until its hook resolves; a deleted droplet answers until its hook does", async () => {
      const calls: string[] = [];
      let finishPower!: () => void;
      let finishDelete!: () => void;
      emu = await startEmulator({
        dropletAction: (d, type) => {
          calls.push(`${type} ${d.id}`);
          return new Promise<void>((resolve) => (finishPower = resolve));
        },
        deleteDroplet: (d) => {
          calls.push(`delete ${d.id}`);
          return new Promise<void>((resolve) => (finishDelete = resolve));
        },
      });
      const { droplet } = await newDroplet();
      await settle();
      const off = await api("POST", `/v2/droplets/${droplet.id}/actions`, { type: "shutdown" });
      await settle();
      expect(calls).toEqual([`shutdown ${droplet.id}`]);
      const action = `/v2/actions/${off.body.action.id}`;
      expect((await api("GET", action)).body.action.status).toBe("in-progress");
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet.status).toBe("active");
      finishPower();
      await settle();
      expect((await api("GET", action)).body.action.status).toBe("completed");
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet.status).toBe("off");

      expect((await api("DELETE", `/v2/droplets/${droplet.id}`)).status).toBe(204);
      await settle();
      expect(calls).toEqual([`shutdown ${droplet.id}`, `delete ${droplet.id}`]);
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).body.droplet.status).toBe("off");
      finishDelete();
      await settle();
      expect((await api("GET", `/v2/droplets/${droplet.id}`)).status).toBe(404);
    });
  });
});

describe("the emulated Spaces", () => {
  afterEach(async () => {
    await emu.stop();
  });

  test("makes keys with their grants, shows the secret once, updates and deletes them", async () => {
    emu = await startEmulator();
    const made = await api("POST", "/v2/spaces/keys", {
      name: "dropstack-prod-backups",
      grants: [{ bucket: "dropstack-prod-backups-k3x9q2ab", permission: "readwrite" }],
    });
    expect(made.status).toBe(201);
    const { access_key: access, secret_key: secret, ...rest } = made.body.key;
    expect(access).toMatch(/^DO[0-9A-F]{18}$/);
    expect(secret).toMatch(/^[A-Za-z0-9]{43}$/);
    expect(rest).toMatchObject({
      name: "dropstack-prod-backups",
      grants: [{ bucket: "dropstack-prod-backups-k3x9q2ab", permission: "readwrite" }],
    });
    const read = await api("GET", `/v2/spaces/keys/${access}`);
    expect(read.body.key.access_key).toBe(access);
    expect(read.body.key).not.toHaveProperty("secret_key");
    expect((await api("GET", "/v2/spaces/keys")).body.keys).toHaveLength(1);
    const renamed = await api("PUT", `/v2/spaces/keys/${access}`, {
      name: "renamed",
      grants: [{ bucket: "other", permission: "read" }],
    });
    expect(renamed.body.key).toMatchObject({ name: "renamed", grants: [{ bucket: "other" }] });
    expect((await api("DELETE", `/v2/spaces/keys/${access}`)).status).toBe(204);
    expect((await api("GET", `/v2/spaces/keys/${access}`)).status).toBe(404);
  });

  test("refuses a key without a name, or full access to one bucket", async () => {
    emu = await startEmulator();
    expect((await api("POST", "/v2/spaces/keys", { grants: [] })).body.message).toBe(
      "name is required",
    );
    const r = await api("POST", "/v2/spaces/keys", {
      name: "k",
      grants: [{ bucket: "b", permission: "fullaccess" }],
    });
    expect(r).toMatchObject({ status: 422 });
    expect(r.body.message).toBe('fullaccess is granted on all buckets (bucket ""), and only it');
  });

  test("as an HTTP proxy, passes requests for the Spaces server and its buckets on, Host kept, and refuses the rest", async () => {
    const http = await import("http");
    const seen: string[] = [];
    const s3 = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push(`${req.method} ${req.headers.host} ${req.url} ${body}`);
        res.writeHead(200, { "x-s3": "yes" });
        res.end("stored");
      });
    });
    await new Promise<void>((r) => s3.listen(0, "127.0.0.1", () => r()));
    const spaces = `127.0.0.1:${(s3.address() as { port: number }).port}`;
    emu = await startEmulator({ spaces });
    const proxy = new URL(emu.url);
    /** A request through the emulator as a proxy: an absolute URL on its request line. */
    const viaProxy = (method: string, url: string, body = "") =>
      new Promise<{ status: number; body: string; s3?: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: proxy.hostname,
            port: proxy.port,
            method,
            path: url,
            headers: { host: url.split("/")[2] },
          },
          (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () =>
              resolve({ status: res.statusCode!, body: text, s3: res.headers["x-s3"] as string }),
            );
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    try {
      expect(await viaProxy("PUT", `http://bucket-a.${spaces}/notes/x.ipynb?acl`, "bytes")).toEqual(
        {
          status: 200,
          body: "stored",
          s3: "yes",
        },
      );
      expect((await viaProxy("GET", `http://${spaces}/`)).status).toBe(200);
      const refused = await viaProxy("GET", "http://example.com/");
      expect(refused.status).toBe(403);
      expect(refused.body).toBe(
        `dropstack emulator: proxies only to the emulated Spaces (${spaces})\n`,
      );
      expect(seen).toEqual([`PUT bucket-a.${spaces} /notes/x.ipynb?acl bytes`, `GET ${spaces} / `]);
      expect(emu.proxied.map((p) => `${p.status} ${p.host}`)).toEqual([
        `200 bucket-a.${spaces}`,
        `200 ${spaces}`,
        "403 example.com",
      ]);
    } finally {
      s3.close();
    }
  });
});
