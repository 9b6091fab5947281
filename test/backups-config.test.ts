import { messageOf, parse } from "./config-parse";

const problem = (line: string) => `Invalid stack configuration:\n  - ${line}`;

describe("the backup settings", () => {
  test("are off by default, keeping 7 daily, 4 weekly and 6 monthly, the bucket kept on destroy", () => {
    const config = parse({});
    expect(config).toMatchObject({
      dropletBackups: false,
      dataBackups: "off",
      dataBackupRetention: { daily: 7, weekly: 4, monthly: 6 },
      dataBackupRegion: "",
      retainBackupsOnDestroy: true,
    });
  });

  test("read a schedule, a partial retention (the rest defaulted) and a Spaces region", () => {
    const config = parse({
      "dropstack:region": "nyc1",
      "dropstack:dataBackups": "hourly",
      "dropstack:dataBackupRetention": '{"daily": 14, "monthly": 0}',
      "dropstack:dataBackupRegion": "nyc3",
      "dropstack:retainBackupsOnDestroy": "false",
    });
    expect(config).toMatchObject({
      dataBackups: "hourly",
      dataBackupRetention: { daily: 14, weekly: 4, monthly: 0 },
      dataBackupRegion: "nyc3",
      retainBackupsOnDestroy: false,
    });
  });

  test("refuse the old key backups, naming the key that replaces it and what it protects", () => {
    expect(messageOf({ "dropstack:backups": "true" })).toBe(
      problem(
        "dropstack:backups: was renamed dropstack:dropletBackups: it turns on DigitalOcean's " +
          "droplet backups, which image the droplet's own disk, not the data volume your notebooks " +
          "and databases live on. Set dropstack:dropletBackups instead, and dropstack:dataBackups " +
          "(off, daily or hourly) to back up the data",
      ),
    );
  });

  test.each([
    [
      { "dropstack:dataBackups": "weekly" },
      'dropstack:dataBackups: "weekly" is not a backup schedule; use off, daily or hourly',
    ],
    [
      { "dropstack:dataBackupRetention": "[7]" },
      'dropstack:dataBackupRetention: "[7]" is not a retention; use a map like {"daily": 7, "weekly": 4, "monthly": 6}',
    ],
    [
      { "dropstack:dataBackupRetention": '{"yearly": 2}' },
      'dropstack:dataBackupRetention: "yearly" is not a kind of backup to keep; use daily, weekly or monthly',
    ],
    [
      { "dropstack:dataBackupRetention": '{"daily": -1}' },
      'dropstack:dataBackupRetention: "-1" is not how many daily backups to keep; use a whole number from 0 to 1000',
    ],
    [
      { "dropstack:dataBackupRetention": '{"daily": 0, "weekly": 0, "monthly": 0}' },
      'dropstack:dataBackupRetention: "{\\"daily\\": 0, \\"weekly\\": 0, \\"monthly\\": 0}" keeps no backup at all; keep at least one daily, weekly or monthly',
    ],
    [
      { "dropstack:dataBackupRegion": "nyc1" },
      'dropstack:dataBackupRegion: "nyc1" is not a region with Spaces; use one of ams3, atl1, blr1, fra1, lon1, nyc3, sfo2, sfo3, sgp1, syd1, tor1',
    ],
    [
      { "dropstack:region": "nyc1", "dropstack:dataBackups": "daily" },
      "dropstack:dataBackups: the stack's region nyc1 has no Spaces, where backups go; set dropstack:dataBackupRegion to one that has: ams3, atl1, blr1, fra1, lon1, nyc3, sfo2, sfo3, sgp1, syd1, tor1",
    ],
    [
      { "dropstack:nodes": "3", "dropstack:dataBackups": "daily" },
      "dropstack:dataBackups: daily is not available on a cluster (dropstack:nodes 3) yet; set it to off, or use one node",
    ],
  ])("refuse %j with an exact message", (values, expected) => {
    expect(messageOf(values)).toBe(problem(expected));
  });

  test("a region without Spaces is fine while backups are off", () => {
    expect(parse({ "dropstack:region": "nyc1" }).dataBackups).toBe("off");
  });

  test("are ignored, with a warning, on the local target", () => {
    const config = parse({ "dropstack:target": "local", "dropstack:dataBackups": "daily" });
    expect(config.warnings).toContain(
      "dropstack:dataBackups is ignored with target local: there is no droplet, and the data is in this machine's Docker volumes",
    );
  });

  describe("an earlier stack's bucket (dataBackupBucket), adopted", () => {
    const BUCKET_KEY = "dropstack:dataBackupBucket";
    const PASSWORD_KEY = "dropstack:dataBackupPassword";
    const adopted = {
      "dropstack:dataBackups": "daily",
      [BUCKET_KEY]: "dropstack-prod-backups-k3x9q2ab",
      [PASSWORD_KEY]: "s3cr3t-repository-password",
    };

    test("is read with its password, set as a secret", () => {
      const config = parse(adopted, [PASSWORD_KEY]);
      expect(config).toMatchObject({
        dataBackupBucket: "dropstack-prod-backups-k3x9q2ab",
        dataBackupPassword: "s3cr3t-repository-password",
      });
    });

    test("without its password is refused, saying where the password is", () => {
      expect(messageOf({ ...adopted, [PASSWORD_KEY]: "" }, [PASSWORD_KEY])).toBe(
        problem(
          "dropstack:dataBackupBucket: the backups in dropstack-prod-backups-k3x9q2ab are " +
            "encrypted with the password of the stack that made them; set it with `npx pulumi " +
            "config set --secret dataBackupPassword <password>` (that stack's `npx pulumi stack " +
            "output backupPassword --show-secrets`)",
        ),
      );
    });

    test("a password in plain text is refused without showing it", () => {
      const message = messageOf(adopted);
      expect(message).toBe(
        problem(
          "dropstack:dataBackupPassword is stored in plain text in the stack's file; set it " +
            "again as a secret: `npx pulumi config set --secret dataBackupPassword <password>`",
        ),
      );
      expect(message).not.toContain("s3cr3t");
    });

    test("a password without a bucket is refused", () => {
      expect(messageOf({ [PASSWORD_KEY]: "x" }, [PASSWORD_KEY])).toBe(
        problem(
          "dropstack:dataBackupPassword is the password of the backups in " +
            "dropstack:dataBackupBucket, which is not set; set both (to back up into and restore " +
            "from an earlier stack's bucket), or neither (the stack makes its own bucket and password)",
        ),
      );
    });

    test("a name Spaces would refuse is refused", () => {
      expect(messageOf({ ...adopted, [BUCKET_KEY]: "Prod_Backups" }, [PASSWORD_KEY])).toBe(
        problem(
          'dropstack:dataBackupBucket: "Prod_Backups" is not a Spaces bucket name; use the bucket ' +
            "of the earlier stack's backups, as its `npx pulumi stack output backups` named it " +
            "(like dropstack-prod-backups-k3x9q2ab)",
        ),
      );
    });

    test("is what validate names as where the backups go", async () => {
      const { backupSummary } = await import("../backup/plan");
      const { parseStackfile } = await import("../stackfile");
      const config = parse(adopted, [PASSWORD_KEY]);
      const [first] = backupSummary(
        config,
        parseStackfile("web:\n  image: nginx\n", "stack.yml").spec,
        "p",
      );
      expect(first).toBe(
        "data backups: daily, encrypted by restic, to the earlier stack's bucket " +
          "dropstack-prod-backups-k3x9q2ab in nyc3 (never deleted; no backup is made until its " +
          "backups are restored), keeping 7 daily, 4 weekly and 6 monthly",
      );
    });

    test("is ignored, with a warning, while backups are off", () => {
      const config = parse({ ...adopted, "dropstack:dataBackups": "off" }, [PASSWORD_KEY]);
      expect(config.warnings).toContain(
        "dropstack:dataBackupBucket is ignored while dropstack:dataBackups is off: set it to " +
          "daily or hourly to back up into, and restore from, that bucket",
      );
    });
  });

  describe("the Spaces endpoint, as the provider's template gives it", () => {
    test("is DigitalOcean's by default, and the region replaces {{.Region}}", async () => {
      const { spacesEndpoint, SPACES_ENDPOINT } = await import("../config/backups");
      expect(spacesEndpoint(SPACES_ENDPOINT, "AMS3")).toBe("https://ams3.digitaloceanspaces.com");
      expect(spacesEndpoint("http://10.20.0.5:9000/", "nyc3")).toBe("http://10.20.0.5:9000");
      expect(spacesEndpoint("https://{{ .Region }}.example.test", "fra1")).toBe(
        "https://fra1.example.test",
      );
    });

    test.each(["ftp://x.test", "https://{{.Bucket}}.x.test", "https://x.test/spaces", "x.test"])(
      "%j is refused with an exact message",
      async (template) => {
        const { spacesEndpoint } = await import("../config/backups");
        expect(() => spacesEndpoint(template, "nyc3")).toThrow(
          `digitalocean:spacesEndpoint (or SPACES_ENDPOINT_URL): ${JSON.stringify(template)} is ` +
            "not a Spaces endpoint; use an http or https URL without a path, where {{.Region}} " +
            "stands for the bucket's region, like DigitalOcean's own " +
            "https://{{.Region}}.digitaloceanspaces.com",
        );
      },
    );
  });
});
