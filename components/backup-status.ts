// When the last backup was made, read from the bucket itself at every preview and up: restic
// writes a backup's snapshot file (snapshots/<id>) last, once everything it names is stored, and
// `forget` deletes snapshot files but never rewrites one, so the newest snapshot file's
// modification time is when the last successful backup ended. Listed through the provider with
// the stack's Spaces key, as the bucket was made.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { BackupSchedule } from "../config";
import { SCHEDULE_SECONDS } from "../config";

/** The end of the last successful backup (ISO 8601, UTC), or undefined when there is none. */
export function lastBackupTime(
  bucket: pulumi.Output<string>,
  region: string,
  provider: digitalocean.Provider,
): pulumi.Output<string | undefined> {
  const listed = digitalocean.getSpacesBucketObjectsOutput(
    { bucket, region, prefix: "snapshots/" },
    { provider },
  );
  return listed.keys.apply((keys) =>
    pulumi
      .all(
        keys.map(
          (key) =>
            digitalocean.getSpacesBucketObjectOutput({ bucket, region, key }, { provider })
              .lastModified,
        ),
      )
      .apply(newest),
  );
}

/** The newest of the objects' modification times (RFC 1123, as the provider gives them), in ISO. */
export function newest(times: string[]): string | undefined {
  const parsed = times.map((t) => Date.parse(t)).filter((t) => !Number.isNaN(t));
  return parsed.length === 0 ? undefined : new Date(Math.max(...parsed)).toISOString();
}

/** A warning when the last backup is older than twice the schedule, or undefined. */
export function staleBackupWarning(
  last: string | undefined,
  schedule: Exclude<BackupSchedule, "off">,
  container: string,
  now: Date,
): string | undefined {
  if (last === undefined) return undefined;
  const age = (now.getTime() - Date.parse(last)) / 1000;
  if (age <= 2 * SCHEDULE_SECONDS[schedule]) return undefined;
  const hours = Math.floor(age / 3600);
  return (
    `dropstack:dataBackups: the last backup ended at ${last}, ${hours} hours ago, more than ` +
    `twice the ${schedule} schedule: backups are failing or not running. On the node, ` +
    `\`docker logs ${container}\` says why; \`npx dropstack backups --stack <stack>\` lists them`
  );
}
