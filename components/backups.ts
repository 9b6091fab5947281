import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as path from "path";
import type { BackupPlan } from "../backup/plan";
import { planText, scheduleEnvironment } from "../backup/plan";
import type { BackupRetention, BackupSchedule } from "../config";
import { spacesEndpoint } from "../config";
import { lastBackupTime } from "./backup-status";
import { runError } from "../runtime";
import { onNode } from "./on-node";
import { contextHash, pruneBuilds } from "./stack";

export interface BackupsArgs {
  /** Base of the bucket's, keys' and container's names: the stack's resource prefix. */
  prefix: string;
  /** The Spaces region of the bucket. */
  region: string;
  /** How often to back up. */
  schedule: Exclude<BackupSchedule, "off">;
  /** How many daily, weekly and monthly backups to keep. */
  retention: BackupRetention;
  /** Keep the bucket, and the backups in it, on `pulumi destroy`. @default true */
  retainOnDestroy?: boolean;
  /** What to back up: folders, dumps, containers to stop on a restore. */
  plan: BackupPlan;
  /** The stack's data folder on the node (`/mnt/data/<stack>`). */
  dataPath: string;
  /**
   * The provider's Spaces endpoint template (`{{.Region}}` for the region): where the bucket is
   * made and where restic reaches it.
   */
  spacesEndpoint: string;
  /**
   * An earlier stack's kept bucket and its repository password, to back up into and restore
   * from instead of a new bucket. Its container waits for a restore before its first backup.
   */
  adopt?: { bucket: string; password: pulumi.Input<string> };
  /** The DigitalOcean API token, for the provider that makes the bucket. */
  token: pulumi.Input<string> | undefined;
  /** The node's Docker provider. */
  provider: docker.Provider;
  /** The droplet's ID: the container is replaced with it (see onNode). */
  nodeId: pulumi.Input<string>;
  /** How scripts reach the node (Node.sshEnvironment): to remove the image's old versions. */
  nodeAccess: Record<string, pulumi.Input<string>>;
  /** What the container starts after: the stack's containers, whose dumps it takes. */
  after: pulumi.Resource[];
}

// Relative to the project folder, where Pulumi runs, as the other builds' contexts are.
const IMAGE_CONTEXT = path.relative(process.cwd(), path.join(__dirname, "..", "images", "backup"));

/**
 * The stack's data backups: a Spaces bucket of its own, a key that reaches that bucket alone, a
 * restic repository password, and a container on the node that backs up on a schedule. Deployed
 * by the Docker provider like the services, so turning backups on changes no droplet.
 */
export class Backups extends pulumi.ComponentResource {
  /** The bucket's name. */
  public readonly bucket: pulumi.Output<string>;
  /** The restic repository: `s3:https://<region>.digitaloceanspaces.com/<bucket>` on Spaces. */
  public readonly repository: pulumi.Output<string>;
  /** The repository's password: without it the backups cannot be read. */
  public readonly password: pulumi.Output<string>;
  /** The backup container's name, which `dropstack backups` and `restore` run commands in. */
  public readonly containerName: pulumi.Output<string>;
  /** When the last successful backup ended (ISO 8601), read from the bucket; undefined: none. */
  public readonly lastBackup: pulumi.Output<string | undefined>;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dropstack:index:Backups", name, {}, opts);
    const parent = { parent: this };
    const { bucket, spaces } = backupBucket(name, args, this);
    this.bucket = bucket;
    this.lastBackup = lastBackupTime(bucket, args.region, spaces);
    const endpoint = spacesEndpoint(args.spacesEndpoint, args.region);
    this.repository = pulumi.interpolate`s3:${endpoint}/${bucket}`;
    // The bucket's own key: readwrite on it and nothing else, the only one that reaches the node.
    const key = new digitalocean.SpacesKey(
      `${name}-key`,
      {
        name: `${args.prefix}-backups`,
        grants: [{ bucket, permission: "readwrite" }],
      },
      parent,
    );
    this.password = pulumi.secret(
      args.adopt?.password ??
        // Letters and digits: the password reaches restic through an environment variable.
        new random.RandomPassword(`${name}-password`, { length: 40, special: false }, parent)
          .result,
    );
    const container = backupContainer(name, args, this, {
      RESTIC_REPOSITORY: this.repository,
      RESTIC_PASSWORD: this.password,
      AWS_ACCESS_KEY_ID: key.accessKey,
      AWS_SECRET_ACCESS_KEY: pulumi.secret(key.secretKey),
      // An adopted bucket's backups are a lost stack's: none is made of this stack's (new,
      // empty) data before they are put back, or the newest backup would be an empty one.
      ...(args.adopt ? { DROPSTACK_RESTORE_FIRST: "1" } : {}),
    });
    this.containerName = container.name;
    this.registerOutputs({
      bucket: this.bucket,
      repository: this.repository,
      containerName: this.containerName,
      lastBackup: this.lastBackup,
    });
  }
}

/**
 * The bucket, made through a provider with a Spaces key of the stack's own: DigitalOcean's API
 * token cannot make a bucket (Spaces speaks S3, with Spaces keys), and this spares the user from
 * making one by hand. That key never leaves this machine's Pulumi state. An adopted bucket is
 * read, not made: `up` stops, naming it, when it is not there, and never deletes it.
 */
function backupBucket(
  name: string,
  args: BackupsArgs,
  parent: pulumi.Resource,
): { bucket: pulumi.Output<string>; spaces: digitalocean.Provider } {
  const admin = new digitalocean.SpacesKey(
    `${name}-admin-key`,
    { name: `${args.prefix}-backups-admin`, grants: [{ bucket: "", permission: "fullaccess" }] },
    { parent },
  );
  const spaces = new digitalocean.Provider(
    `${name}-spaces`,
    {
      token: args.token,
      spacesAccessId: admin.accessKey,
      spacesSecretKey: admin.secretKey,
      spacesEndpoint: args.spacesEndpoint,
    },
    { parent },
  );
  if (args.adopt !== undefined) {
    const { bucket } = args.adopt;
    // Looked up once the key exists (unknown in a first preview), with the provider's own
    // error ("Spaces Bucket (…) not found") said as a config error, not a stack trace. The key
    // is secret, and so would be what it yields: the bucket's name is not.
    const found = pulumi.unsecret(admin.accessKey).apply(async () => {
      try {
        const b = await digitalocean.getSpacesBucket(
          { name: bucket, region: args.region },
          { provider: spaces, parent },
        );
        return b.name;
      } catch (e) {
        throw missingBucketError(bucket, args.region, e);
      }
    });
    return { bucket: found, spaces };
  }
  // Bucket names are shared by every Spaces customer: a random suffix keeps the stack's free.
  const suffix = new random.RandomString(
    `${name}-suffix`,
    { length: 8, special: false, upper: false },
    { parent },
  );
  const retain = args.retainOnDestroy ?? true;
  const bucket = new digitalocean.SpacesBucket(
    `${name}-bucket`,
    {
      name: pulumi.interpolate`${args.prefix}-backups-${suffix.result}`,
      region: args.region,
      acl: "private",
      // Deleted with what is in it only when the user said not to keep it.
      forceDestroy: !retain,
    },
    { parent, provider: spaces, retainOnDelete: retain },
  );
  return { bucket: bucket.name, spaces };
}

/**
 * The error for an adopted bucket the lookup did not find, said as the config's, with the
 * provider's last line ("Spaces Bucket (…) not found"): Pulumi shows a RunError without a stack.
 */
export function missingBucketError(bucket: string, region: string, cause: unknown) {
  const said = cause instanceof Error ? cause.message : String(cause ?? "");
  const detail = said
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .pop();
  return runError(
    `dropstack:dataBackupBucket: Spaces has no bucket ${bucket} in ${region} that this ` +
      `account reaches${detail === undefined ? "" : ` (${detail})`}. Name the bucket of the ` +
      "earlier stack's backups, as its `npx pulumi stack output backups` gave it, and its " +
      "region with dataBackupRegion if it is not the stack's",
  );
}

/** The image, built on the node from images/backup, and the container that runs it. */
function backupContainer(
  name: string,
  args: BackupsArgs,
  parent: pulumi.Resource,
  credentials: Record<string, pulumi.Input<string>>,
): docker.Container {
  const node = { parent, provider: args.provider, ...onNode(args.nodeId) };
  const tag = `dropstack/backup:${contextHash(IMAGE_CONTEXT).slice(0, 12)}`;
  const image = new docker.RemoteImage(
    `${name}-image`,
    {
      name: tag,
      // Never removed by Pulumi. When the droplet is replaced, the old image is deleted after the
      // new one is built, through the provider, by then the new droplet's, and by name: the new
      // image's, which its container runs, so Docker refuses and the up fails (found by the
      // emulated DigitalOcean). deletedWith does not help: the engine skips such deletes only
      // for resources deleted, not replaced (pulumi/pulumi#19924). pruneBuilds removes an old
      // version (a change to images/backup) once the container runs the new one.
      keepLocally: true,
      // The classic builder, as for the services (see serviceImage in stack.ts).
      build: {
        context: IMAGE_CONTEXT,
        dockerfile: path.join(IMAGE_CONTEXT, "Dockerfile"),
        useLegacyBuilder: true,
      },
    },
    node,
  );
  const staging = `/var/lib/dropstack/backup/${args.prefix}`;
  const env: Record<string, pulumi.Input<string>> = {
    ...credentials,
    ...scheduleEnvironment(args.schedule, args.retention),
    DROPSTACK_DATA: args.dataPath,
    DROPSTACK_STAGING: staging,
    DROPSTACK_BACKUP_PLAN: planText(args.plan),
  };
  const container = new docker.Container(
    `${name}-container`,
    {
      name: `${args.prefix}-backup`,
      image: image.imageId,
      envs: pulumi.secret(
        pulumi.all(Object.entries(env).map(([k, v]) => pulumi.interpolate`${k}=${v}`)),
      ),
      volumes: [
        // Read-write: a restore puts the files back where they were.
        { hostPath: args.dataPath, containerPath: args.dataPath },
        // The dumps wait here, on the droplet's disk, not on the data volume being backed up.
        { hostPath: staging, containerPath: staging },
        // To run each service's dump command in its own container, and stop and start the
        // services' containers around a restore.
        { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
      ],
      restart: "unless-stopped",
      mustRun: true,
      destroyGraceSeconds: 10,
    },
    { ...node, dependsOn: args.after, deleteBeforeReplace: true },
  );
  pruneBuilds(`${name}-image`, tag, args.nodeAccess, [container], { parent });
  return container;
}
