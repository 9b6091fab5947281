// The volumes an image declares (its VOLUME lines) that a service does not place itself. Docker
// gives each an anonymous volume that goes with the container; Docker Cloud kept them across
// redeploys, and Stackfiles for databases (mysql, postgres, redis) rely on that without listing
// a volume. On a node dropstack keeps them on the data volume, where the Stackfile's own
// anonymous volumes go (`<dataPath>/<service>/_anonymous<path>`), so listing one later keeps it.
import type { ServiceSpec } from "./types";

/**
 * The paths in the output of `scripts/image-inspect.sh volumes` (the image's Config.Volumes as
 * JSON: `{"/var/lib/mysql":{}}`, or `null` for none), sorted. Throws on anything else, so a
 * changed format is never read as "no volumes".
 */
export function parseImageVolumes(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.trim());
  } catch {
    throw new Error(`not an image's volumes: ${JSON.stringify(text)}`);
  }
  if (parsed === null) return [];
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error(`not an image's volumes: ${JSON.stringify(text)}`);
  const paths = Object.keys(parsed as object);
  for (const p of paths) {
    if (!p.startsWith("/")) throw new Error(`not an image's volume path: ${JSON.stringify(p)}`);
  }
  return paths.sort();
}

/**
 * Of the volumes `service`'s image declares, those its Stackfile entry does not place: not a
 * volume target, nor inside one (Docker would mount it over the Stackfile's), with trailing
 * slashes ignored.
 */
export function unplacedImageVolumes(service: ServiceSpec, declared: string[]): string[] {
  const clean = (p: string) => p.replace(/\/+$/, "") || "/";
  const targets = service.volumes.map((v) => clean(v.target));
  return declared
    .map(clean)
    .filter((p) => !targets.some((t) => p === t || p.startsWith(t === "/" ? "/" : `${t}/`)));
}
