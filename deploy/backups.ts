// The data backups of a single node (dropstack:dataBackups): the Backups component beside the
// stack, and what the stack outputs say of them.
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { backupPlan } from "../backup/plan";
import { staleBackupWarning } from "../components/backup-status";
import { Backups } from "../components/backups";
import type { Node, Stack } from "../components";
import { backupRegion, digitalOceanToken, spacesEndpointTemplate } from "../config";
import type { DropstackConfig } from "../config";
import type { StackSpec } from "../stackfile";

/**
 * Spaces' subscription, from DigitalOcean's pricing page (https://www.digitalocean.com/pricing/spaces-object-storage):
 * one fee per account, whatever its buckets, with 250 GiB stored and 1 TiB out included.
 */
export const SPACES_PRICE = { usdPerMonth: 5, includedGiB: 250, perExtraGiB: 0.02 };

/** The backups of the stack's data, once its services exist; undefined with dataBackups off. */
export function deployBackups(
  config: DropstackConfig,
  stack: string,
  prefix: string,
  spec: StackSpec,
  target: { node: Node | undefined; provider: docker.Provider },
  deployed: Stack,
): Backups | undefined {
  const { node, provider } = target;
  if (config.dataBackups === "off" || node === undefined) return undefined;
  const schedule = config.dataBackups;
  const backups = new Backups("backups", {
    prefix,
    region: backupRegion(config),
    schedule: config.dataBackups,
    retention: config.dataBackupRetention,
    retainOnDestroy: config.retainBackupsOnDestroy,
    plan: backupPlan(spec, prefix),
    dataPath: `${node.dataPath}/${stack}`,
    spacesEndpoint: spacesEndpointTemplate(),
    adopt:
      config.dataBackupBucket === ""
        ? undefined
        : {
            bucket: config.dataBackupBucket,
            password: pulumi.secret(config.dataBackupPassword),
          },
    token: digitalOceanToken(),
    provider,
    nodeId: node.droplet.id,
    nodeAccess: node.sshEnvironment,
    after: Object.values(deployed.serviceComponents).flatMap((s) => s.containers),
  });
  pulumi.all([backups.lastBackup, backups.containerName]).apply(([last, container]) => {
    const warning = staleBackupWarning(last, schedule, container, new Date());
    if (warning !== undefined) pulumi.log.warn(warning);
  });
  return backups;
}

/** The stack outputs of the backups: where they are, and the password that reads them. */
export function backupOutputs(config: DropstackConfig, backups: Backups | undefined) {
  if (backups === undefined) return {};
  return {
    /** Where the backups go, how often, and the container that makes them. */
    backups: pulumi
      .all([backups.bucket, backups.repository, backups.lastBackup])
      .apply(([bucket, repository, lastBackup]) => ({
        schedule: config.dataBackups,
        region: backupRegion(config),
        bucket,
        repository,
        keptOnDestroy: config.retainBackupsOnDestroy,
        /** When the last successful backup ended, as the bucket says at this up. */
        lastBackup: lastBackup ?? "none yet",
      })),
    /**
     * The restic repository's password, secret: keep a copy outside the stack, since a kept
     * bucket cannot be read without it once the stack (and its state) is gone.
     */
    backupPassword: backups.password,
  };
}
