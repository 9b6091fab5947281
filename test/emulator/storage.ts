// Block storage volumes and their actions (attach, detach, resize).
import { randomUUID } from "crypto";
import { regionInfo } from "./catalog";
import { actionView, startAction } from "./actions";
import { ensureTags } from "./account";
import { conflict, notFound, page, Router, stringList, timestamp, unprocessable } from "./http";
import { EmulatorState, VolumeRecord } from "./state";

/** What a volume's disk does on its machine; each action is in progress until its hook is done. */
export interface VolumeHooks {
  /** The volume appears on the droplet (also at the droplet's boot, through bootDroplet). */
  attachVolume?: (volume: VolumeRecord, dropletId: number) => Promise<void> | void;
  /** The volume leaves the droplet; its bytes stay. */
  detachVolume?: (volume: VolumeRecord, dropletId: number) => Promise<void> | void;
  /** The volume's disk has grown to volume.sizeGigabytes. */
  resizeVolume?: (volume: VolumeRecord) => Promise<void> | void;
  /** The volume is deleted: its bytes go. */
  deleteVolume?: (volume: VolumeRecord) => Promise<void> | void;
}

/** DigitalOcean's limit of volumes attached to one droplet. */
export const MAX_VOLUMES_PER_DROPLET = 7;
const VOLUME_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const MAX_SIZE_GIB = 16384;

export function volumeView(v: VolumeRecord) {
  return {
    id: v.id,
    region: regionInfo(v.region),
    droplet_ids: [...v.dropletIds],
    name: v.name,
    description: v.description,
    size_gigabytes: v.sizeGigabytes,
    created_at: v.createdAt,
    filesystem_type: v.filesystemType,
    filesystem_label: v.filesystemLabel,
    tags: [...v.tags],
  };
}

/**
 * Why `volume` cannot be attached to droplet `dropletId`, or undefined: the droplet must exist,
 * be in the volume's region and have room, and the volume must be free.
 */
export function attachProblem(
  state: EmulatorState,
  volume: VolumeRecord,
  dropletId: number,
): string | undefined {
  const droplet = state.droplets.get(dropletId);
  if (droplet === undefined) return `Droplet ${dropletId} does not exist`;
  if (droplet.region !== volume.region)
    return `Volume ${volume.name} is in ${volume.region} and the Droplet in ${droplet.region}: both must be in the same region`;
  if (volume.dropletIds.includes(dropletId)) return "Volume is already attached to this Droplet";
  if (volume.dropletIds.length > 0) return "Volume is already attached to another Droplet";
  if (droplet.volumeIds.length >= MAX_VOLUMES_PER_DROPLET)
    return `A Droplet can have at most ${MAX_VOLUMES_PER_DROPLET} volumes attached`;
  return undefined;
}

export function attach(state: EmulatorState, volume: VolumeRecord, dropletId: number): void {
  volume.dropletIds.push(dropletId);
  state.droplets.get(dropletId)!.volumeIds.push(volume.id);
}

export function detach(state: EmulatorState, volume: VolumeRecord, dropletId: number): void {
  volume.dropletIds = volume.dropletIds.filter((id) => id !== dropletId);
  const droplet = state.droplets.get(dropletId);
  if (droplet) droplet.volumeIds = droplet.volumeIds.filter((id) => id !== volume.id);
}

function volume(state: EmulatorState, id: string): VolumeRecord {
  const v = state.volumes.get(id);
  if (v === undefined) throw notFound();
  return v;
}

function volumeAction(state: EmulatorState, hooks: VolumeHooks, v: VolumeRecord, body: any) {
  const type = body?.type;
  const dropletId = body?.droplet_id;
  const region = body?.region;
  if (region !== undefined && region !== "" && region !== v.region)
    throw unprocessable(`Volume ${v.name} is not in ${region}`);
  const act = (actionType: string, work: () => void | Promise<void>) => ({
    status: 201,
    body: {
      action: startAction(
        state,
        // Volume IDs are UUIDs: a volume action's resource_id is 0, as DigitalOcean gives it.
        {
          type: actionType,
          resourceId: 0,
          resourceType: "volume",
          region: v.region,
          volumeId: v.id,
        },
        work,
      ),
    },
  });
  switch (type) {
    case "attach": {
      if (!Number.isInteger(dropletId)) throw unprocessable("droplet_id is required");
      const problem = attachProblem(state, v, dropletId);
      if (problem !== undefined) throw unprocessable(problem);
      attach(state, v, dropletId);
      return act("attach_volume", () => hooks.attachVolume?.(v, dropletId));
    }
    case "detach": {
      if (!Number.isInteger(dropletId)) throw unprocessable("droplet_id is required");
      if (!v.dropletIds.includes(dropletId)) throw unprocessable("Attachment not found");
      detach(state, v, dropletId);
      return act("detach_volume", () => hooks.detachVolume?.(v, dropletId));
    }
    case "resize": {
      const size = body?.size_gigabytes;
      if (!Number.isInteger(size) || size > MAX_SIZE_GIB)
        throw unprocessable(`size_gigabytes must be a whole number up to ${MAX_SIZE_GIB}`);
      if (size <= v.sizeGigabytes)
        throw unprocessable(
          `A volume can only grow: ${v.name} has ${v.sizeGigabytes} GiB, ${size} GiB was asked`,
        );
      v.sizeGigabytes = size;
      return act("resize_volume", () => hooks.resizeVolume?.(v));
    }
    default:
      throw unprocessable(`${JSON.stringify(type)} is not a volume action type`);
  }
}

export function storageRoutes(r: Router, state: EmulatorState, hooks: VolumeHooks = {}): void {
  r.add("GET", "/v2/volumes", (call) => {
    const name = call.query.get("name");
    const region = call.query.get("region");
    const volumes = [...state.volumes.values()].filter(
      (v) => (name === null || v.name === name) && (region === null || v.region === region),
    );
    return page(call, "volumes", volumes.map(volumeView));
  });
  r.add("POST", "/v2/volumes", (call) => {
    const b = call.body ?? {};
    if (typeof b.name !== "string" || !VOLUME_NAME.test(b.name))
      throw unprocessable(
        "Name must be lowercase and be composed only of numbers, letters and '-', up to a limit of 64 characters. The name must begin with a letter.",
      );
    const region = regionInfo(b.region);
    if (region === undefined || !region.available || !region.features.includes("storage"))
      throw unprocessable("Storage is not supported for this region");
    if (b.snapshot_id) throw unprocessable("snapshot not found");
    if (
      !Number.isInteger(b.size_gigabytes) ||
      b.size_gigabytes < 1 ||
      b.size_gigabytes > MAX_SIZE_GIB
    )
      throw unprocessable(`size_gigabytes must be a whole number from 1 to ${MAX_SIZE_GIB}`);
    const fs = b.filesystem_type ?? "";
    if (!["", "ext4", "xfs"].includes(fs))
      throw unprocessable("filesystem_type must be ext4 or xfs");
    // Names are unique per region: DigitalOcean answers 409 for a second one.
    if ([...state.volumes.values()].some((v) => v.name === b.name && v.region === region.slug))
      throw conflict(`a volume named ${b.name} already exists in ${region.slug}`);
    const tags = stringList(b, "tags");
    ensureTags(state, tags);
    const v: VolumeRecord = {
      id: randomUUID(),
      name: b.name,
      region: region.slug,
      sizeGigabytes: b.size_gigabytes,
      description: typeof b.description === "string" ? b.description : "",
      filesystemType: fs,
      filesystemLabel: typeof b.filesystem_label === "string" ? b.filesystem_label : "",
      tags,
      dropletIds: [],
      createdAt: timestamp(),
    };
    state.volumes.set(v.id, v);
    return { status: 201, body: { volume: volumeView(v) } };
  });
  r.add("GET", "/v2/volumes/:id", (call) => ({
    status: 200,
    body: { volume: volumeView(volume(state, call.params.id)) },
  }));
  const remove = (v: VolumeRecord) => {
    if (v.dropletIds.length > 0)
      throw conflict(
        "A volume that's attached to a Droplet cannot be deleted. Please detach it first before deleting.",
      );
    state.volumes.delete(v.id);
    Promise.resolve()
      .then(() => hooks.deleteVolume?.(v))
      .catch((e: unknown) =>
        state.problems.push({
          what: `deleteVolume for volume ${v.id} (${v.name})`,
          error: e instanceof Error ? e.message : String(e),
        }),
      );
    return { status: 204 };
  };
  r.add("DELETE", "/v2/volumes/:id", (call) => remove(volume(state, call.params.id)));
  r.add("DELETE", "/v2/volumes", (call) => {
    const name = call.query.get("name");
    const region = call.query.get("region");
    const v = [...state.volumes.values()].find((x) => x.name === name && x.region === region);
    if (v === undefined) throw notFound();
    return remove(v);
  });
  r.add("POST", "/v2/volumes/:id/actions", (call) =>
    volumeAction(state, hooks, volume(state, call.params.id), call.body),
  );
  r.add("POST", "/v2/volumes/actions", (call) => {
    const { volume_name: name, region } = call.body ?? {};
    const v = [...state.volumes.values()].find((x) => x.name === name && x.region === region);
    if (v === undefined) throw notFound();
    return volumeAction(state, hooks, v, call.body);
  });
  const volumeActions = (id: string) => {
    const v = volume(state, id);
    return [...state.actions.values()].filter(
      (a) => a.resourceType === "volume" && a.volumeId === v.id,
    );
  };
  r.add("GET", "/v2/volumes/:id/actions", (call) =>
    page(call, "actions", volumeActions(call.params.id).map(actionView)),
  );
  r.add("GET", "/v2/volumes/:id/actions/:action", (call) => {
    const a = volumeActions(call.params.id).find((x) => x.id === Number(call.params.action));
    if (a === undefined) throw notFound();
    return { status: 200, body: { action: actionView(a) } };
  });
}
