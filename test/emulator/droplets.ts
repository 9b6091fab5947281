// Droplets and their actions. A droplet is "new" until the emulator's bootDroplet resolves with
// its address, then "active"; power actions move it between "active" and "off".
import { imageInfo, regionInfo, sizeInfo } from "./catalog";
import { actionView, startAction } from "./actions";
import { ACCOUNT, ensureTags, findKey } from "./account";
import {
  Call,
  NotEmulated,
  notFound,
  page,
  Reply,
  Router,
  stringList,
  timestamp,
  unprocessable,
} from "./http";
import { defaultVpc, nextPrivateAddress } from "./network";
import { attach, detach } from "./storage";
import { DropletRecord, EmulatorState, SshKeyRecord } from "./state";

/** What booting a droplet gave it: its public address and, optionally, its VPC address. */
export interface BootResult {
  ipv4: string;
  /** Default: the next address in the droplet's VPC range (nothing answers on it). */
  ipv4Private?: string;
}

export interface DropletHooks {
  /**
   * Boots a droplet just created; the droplet turns "active" once this resolves (a rejection
   * leaves it "errored", which the provider reports). Default: resolves at once with
   * 127.0.0.N, N from 10 up.
   */
  bootDroplet?: (droplet: DropletRecord) => Promise<BootResult>;
  /**
   * Runs a droplet action (power_off, shutdown, power_on, reboot, power_cycle, resize, ...)
   * before the emulator records its effect; the action is "in-progress" until this resolves.
   */
  dropletAction?: (droplet: DropletRecord, type: string, body: any) => Promise<void> | void;
  /** Removes a deleted droplet's machine; the droplet answers GET until this resolves. */
  deleteDroplet?: (droplet: DropletRecord) => Promise<void> | void;
}

/** DigitalOcean's limit on user_data. */
const MAX_USER_DATA = 64 * 1024;
const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,253}[a-zA-Z0-9])?$/;

function features(d: DropletRecord): string[] {
  return [
    ...(d.backups ? ["backups"] : []),
    ...(d.ipv6 ? ["ipv6"] : []),
    ...(d.monitoring ? ["monitoring"] : []),
    ...(d.dropletAgent ? ["droplet_agent"] : []),
    // Every droplet is in its region's VPC.
    "private_networking",
  ];
}

export function dropletView(d: DropletRecord) {
  const size = sizeInfo(d.size)!;
  const v4 = [
    ...(d.privateIpv4
      ? [{ ip_address: d.privateIpv4, netmask: "255.255.240.0", gateway: "", type: "private" }]
      : []),
    ...(d.publicIpv4
      ? [
          {
            ip_address: d.publicIpv4,
            netmask: "255.255.255.0",
            gateway: d.publicIpv4.replace(/\.\d+$/, ".1"),
            type: "public",
          },
        ]
      : []),
  ];
  const v6 = d.ipv6Address
    ? [
        {
          ip_address: d.ipv6Address,
          netmask: 64,
          gateway: d.ipv6Address.replace(/:[^:]*$/, ":1"),
          type: "public",
        },
      ]
    : [];
  const now = Date.now();
  return {
    id: d.id,
    name: d.name,
    memory: size.memory,
    vcpus: size.vcpus,
    disk: size.disk,
    locked: d.locked,
    status: d.status,
    kernel: null,
    created_at: d.createdAt,
    features: features(d),
    backup_ids: [],
    next_backup_window: d.backups
      ? {
          start: timestamp(new Date(now + 86400e3)),
          end: timestamp(new Date(now + 86400e3 + 4 * 3600e3)),
        }
      : null,
    snapshot_ids: [],
    image: d.image,
    volume_ids: [...d.volumeIds],
    size,
    size_slug: d.size,
    networks: { v4, v6 },
    region: regionInfo(d.region),
    tags: [...d.tags],
    vpc_uuid: d.vpcUuid,
  };
}

/** A droplet's IPv6 address, in the documentation prefix: nothing ever dials it. */
function ipv6For(d: DropletRecord): string {
  return `2001:db8:${(d.id >>> 16).toString(16)}:${(d.id & 0xffff).toString(16)}::2`;
}

export function dropletRoutes(r: Router, state: EmulatorState, hooks: DropletHooks): void {
  const boot =
    hooks.bootDroplet ?? (() => Promise.resolve({ ipv4: state.nextLoopback() } as BootResult));
  /** Droplets deleted whose deleteDroplet hook has not finished. */
  const deleting = new Set<number>();

  function droplet(id: string): DropletRecord {
    const d = state.droplets.get(Number(id));
    if (d === undefined || !/^\d+$/.test(id)) throw notFound();
    return d;
  }

  /** Checks a create request for one droplet named `name`; returns the record, not yet stored. */
  function newDroplet(b: any, name: unknown): DropletRecord {
    if (typeof name !== "string" || !HOSTNAME.test(name))
      throw unprocessable(
        "Name is invalid: only letters, digits, dots and dashes, up to 255 characters",
      );
    const size = sizeInfo(b.size);
    if (size === undefined)
      throw unprocessable("You specified an invalid size for Droplet creation.");
    const regionSlug: string =
      b.region || (size.regions.includes("nyc3") ? "nyc3" : (size.regions[0] ?? ""));
    const region = regionInfo(regionSlug);
    if (region === undefined || !region.available)
      throw unprocessable("You specified an invalid region for Droplet creation.");
    if (!size.available || !size.regions.includes(region.slug))
      throw unprocessable("Size is not available in this region.");
    const image = imageInfo(b.image);
    if (image === undefined || !image.regions.includes(region.slug))
      throw unprocessable("You specified an invalid image for Droplet creation.");
    const keys: SshKeyRecord[] = (Array.isArray(b.ssh_keys) ? b.ssh_keys : []).map((k: unknown) => {
      const key = findKey(state, String(k));
      if (key === undefined)
        throw unprocessable(`ssh_keys: ${JSON.stringify(k)} is no SSH key in your account`);
      return key;
    });
    const userData = b.user_data ?? "";
    if (typeof userData !== "string") throw unprocessable("user_data must be a string");
    if (Buffer.byteLength(userData) > MAX_USER_DATA)
      throw unprocessable(`user_data is limited to ${MAX_USER_DATA} bytes`);
    const tags = stringList(b, "tags");
    let vpcUuid: string;
    if (b.vpc_uuid) {
      const vpc = state.vpcs.get(b.vpc_uuid);
      if (vpc === undefined) throw unprocessable(`vpc_uuid ${b.vpc_uuid} does not exist`);
      if (vpc.region !== region.slug)
        throw unprocessable("The VPC must be in the same region as the Droplet");
      vpcUuid = vpc.id;
    } else {
      vpcUuid = defaultVpc(state, region.slug).id;
    }
    return {
      id: 0,
      name,
      region: region.slug,
      size: size.slug,
      image,
      userData,
      sshKeys: keys,
      tags: [...new Set(tags)],
      volumeIds: [],
      vpcUuid,
      ipv6: b.ipv6 === true,
      monitoring: b.monitoring === true,
      backups: b.backups === true,
      dropletAgent: b.with_droplet_agent !== false,
      status: "new",
      locked: false,
      createdAt: timestamp(),
      backupPolicy: b.backup_policy,
    };
  }

  /** The volumes a create request names, checked against the droplet it would attach them to. */
  function volumesFor(b: any, region: string) {
    const given = Array.isArray(b.volumes) ? b.volumes : [];
    return given.map((ref: any) => {
      const v =
        typeof ref === "string"
          ? state.volumes.get(ref)
          : ref?.id
            ? state.volumes.get(ref.id)
            : [...state.volumes.values()].find((x) => x.name === ref?.name && x.region === region);
      if (v === undefined) throw unprocessable(`volume ${JSON.stringify(ref)} does not exist`);
      if (v.region !== region)
        throw unprocessable(`Volume ${v.name} is in ${v.region}, not in ${region}`);
      if (v.dropletIds.length > 0)
        throw unprocessable(`Volume ${v.name} is already attached to another Droplet`);
      return v;
    });
  }

  function create(call: Call): Reply {
    const b = call.body ?? {};
    const names: unknown[] = Array.isArray(b.names) ? b.names : [b.name];
    if (names.length > 10) throw unprocessable("At most 10 droplets can be created at once");
    if (state.droplets.size + names.length > ACCOUNT.droplet_limit)
      throw unprocessable(
        `creating this/these droplet(s) will exceed your droplet limit (${ACCOUNT.droplet_limit})`,
      );
    const drafts = names.map((name) => newDroplet(b, name));
    const volumes = volumesFor(b, drafts[0].region);
    if (volumes.length > 0 && drafts.length > 1)
      throw unprocessable("Volumes can be attached to a single Droplet only");
    ensureTags(state, drafts[0].tags);
    const created = drafts.map((d) => {
      d.id = state.nextDropletId();
      state.droplets.set(d.id, d);
      for (const v of volumes) attach(state, v, d.id);
      const action = startAction(
        state,
        { type: "create", resourceId: d.id, resourceType: "droplet", region: d.region },
        async () => {
          try {
            const booted = await boot(d);
            if (!state.droplets.has(d.id) || deleting.has(d.id)) return;
            d.publicIpv4 = booted.ipv4;
            const vpc = state.vpcs.get(d.vpcUuid)!;
            d.privateIpv4 = booted.ipv4Private ?? nextPrivateAddress(vpc);
            if (d.ipv6) d.ipv6Address = ipv6For(d);
            d.status = "active";
          } catch (e) {
            d.status = "errored";
            throw new Error(
              `bootDroplet failed for droplet ${d.id} (${d.name}): ${e instanceof Error ? e.message : e}`,
              { cause: e },
            );
          }
        },
      );
      return { droplet: d, action };
    });
    const links = {
      actions: created.map(({ action }) => ({
        id: action.id,
        rel: "create",
        href: `${call.base}/v2/actions/${action.id}`,
      })),
    };
    return Array.isArray(b.names)
      ? { status: 202, body: { droplets: created.map((c) => dropletView(c.droplet)), links } }
      : { status: 202, body: { droplet: dropletView(created[0].droplet), links } };
  }

  function remove(d: DropletRecord): void {
    if (deleting.has(d.id)) return;
    // DigitalOcean detaches the volumes and takes the droplet out of its firewalls.
    for (const id of [...d.volumeIds]) {
      const v = state.volumes.get(id);
      if (v) detach(state, v, d.id);
    }
    for (const f of state.firewalls.values()) f.dropletIds = f.dropletIds.filter((x) => x !== d.id);
    if (hooks.deleteDroplet === undefined) {
      state.droplets.delete(d.id);
      return;
    }
    deleting.add(d.id);
    Promise.resolve()
      .then(() => hooks.deleteDroplet!(d))
      .catch((e: unknown) =>
        state.problems.push({
          what: `deleteDroplet for droplet ${d.id} (${d.name})`,
          error: e instanceof Error ? e.message : String(e),
        }),
      )
      .finally(() => {
        state.droplets.delete(d.id);
        deleting.delete(d.id);
      });
  }

  function dropletAction(call: Call, d: DropletRecord): Reply {
    const b = call.body ?? {};
    const type = b.type;
    const alreadyOff = d.status === "off";
    if (d.status === "new" && type !== undefined)
      throw unprocessable("Droplet is still being created; try again once it is active");
    let effect: () => void;
    switch (type) {
      case "power_off":
        if (alreadyOff) throw unprocessable("Droplet is already powered off");
        effect = () => (d.status = "off");
        break;
      case "shutdown":
        // DigitalOcean accepts a shutdown of a droplet that is off.
        effect = () => (d.status = "off");
        break;
      case "power_on":
        if (d.status === "active") throw unprocessable("Droplet is already powered on");
        effect = () => (d.status = "active");
        break;
      case "reboot":
      case "power_cycle":
        effect = () => (d.status = "active");
        break;
      case "resize": {
        const size = sizeInfo(b.size);
        if (size === undefined || !size.available || !size.regions.includes(d.region))
          throw unprocessable("You specified an invalid size for Droplet resize.");
        if (d.status !== "off")
          throw unprocessable("Droplet is currently on. Please power it off to run this event.");
        if (b.disk === true && size.disk < sizeInfo(d.size)!.disk)
          throw unprocessable("A Droplet's disk cannot be resized to a smaller one");
        effect = () => (d.size = size.slug);
        break;
      }
      case "enable_backups":
        if (b.backup_policy !== undefined) d.backupPolicy = b.backup_policy;
        effect = () => (d.backups = true);
        break;
      case "disable_backups":
        effect = () => (d.backups = false);
        break;
      case "change_backup_policy":
        if (!d.backups) throw unprocessable("Backups are not enabled on this Droplet");
        effect = () => (d.backupPolicy = b.backup_policy);
        break;
      case "enable_ipv6":
        effect = () => {
          d.ipv6 = true;
          if (d.publicIpv4) d.ipv6Address = ipv6For(d);
        };
        break;
      case "enable_private_networking":
        effect = () => undefined;
        break;
      case "rename":
        if (typeof b.name !== "string" || !HOSTNAME.test(b.name))
          throw unprocessable("Name is invalid");
        effect = () => (d.name = b.name);
        break;
      case "rebuild": {
        const image = imageInfo(b.image);
        if (image === undefined) throw unprocessable("You specified an invalid image for rebuild.");
        effect = () => {
          d.image = image;
          d.status = "active";
        };
        break;
      }
      case "password_reset":
        effect = () => undefined;
        break;
      default:
        throw new NotEmulated(call, `droplet action type ${JSON.stringify(type)}`);
    }
    const action = startAction(
      state,
      { type, resourceId: d.id, resourceType: "droplet", region: d.region },
      async () => {
        await hooks.dropletAction?.(d, type, b);
        effect();
      },
    );
    return { status: 201, body: { action } };
  }

  r.add("GET", "/v2/droplets", (call) => {
    const tag = call.query.get("tag_name");
    const name = call.query.get("name");
    const droplets = [...state.droplets.values()].filter(
      (d) => (tag === null || d.tags.includes(tag)) && (name === null || d.name === name),
    );
    return page(call, "droplets", droplets.map(dropletView));
  });
  r.add("POST", "/v2/droplets", create);
  r.add("GET", "/v2/droplets/:id", (call) => ({
    status: 200,
    body: { droplet: dropletView(droplet(call.params.id)) },
  }));
  r.add("DELETE", "/v2/droplets/:id", (call) => {
    remove(droplet(call.params.id));
    return { status: 204 };
  });
  r.add("DELETE", "/v2/droplets", (call) => {
    const tag = call.query.get("tag_name");
    if (tag === null) throw new NotEmulated(call, "a delete of all droplets needs tag_name");
    for (const d of [...state.droplets.values()]) if (d.tags.includes(tag)) remove(d);
    return { status: 204 };
  });
  r.add("POST", "/v2/droplets/:id/actions", (call) => dropletAction(call, droplet(call.params.id)));
  const actionsOf = (d: DropletRecord) =>
    [...state.actions.values()].filter(
      (a) => a.resourceType === "droplet" && a.resourceId === d.id,
    );
  r.add("GET", "/v2/droplets/:id/actions", (call) =>
    page(call, "actions", actionsOf(droplet(call.params.id)).reverse().map(actionView)),
  );
  r.add("GET", "/v2/droplets/:id/actions/:action", (call) => {
    const a = actionsOf(droplet(call.params.id)).find((x) => x.id === Number(call.params.action));
    if (a === undefined) throw notFound();
    return { status: 200, body: { action: actionView(a) } };
  });
}
