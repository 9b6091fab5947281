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
});
