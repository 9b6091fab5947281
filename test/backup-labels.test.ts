// The Stackfile's backup labels: what each asks for, and every mistake's exact message at its
// place in the file.
import { stackWarnings } from "../config/warnings";
import { formatDiagnostic, parseStackfile, serviceBackup, StackfileError } from "../stackfile";

function errorsOf(text: string): string[] {
  try {
    parseStackfile(text, "stack.yml", { vars: { DB_PASSWORD: { secret: true } } });
  } catch (e) {
    if (e instanceof StackfileError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  throw new Error("expected the Stackfile to be rejected");
}

const db = (labels: string) => `db:\n  image: postgres:16\n  labels:\n${labels}`;

describe("the backup labels", () => {
  test("say how a service is backed up: files by default, off, or a dump and its restore", () => {
    const { spec } = parseStackfile(
      [
        "web:\n  image: nginx",
        'cache:\n  image: redis\n  labels:\n    dropstack.backup: "off"',
        "db:\n  image: postgres:16\n  labels:",
        "    dropstack.backup.dump: pg_dumpall -U postgres",
        "    dropstack.backup.restore: psql -U postgres",
        "",
      ].join("\n"),
      "stack.yml",
    );
    expect(spec.services.map(serviceBackup)).toEqual([
      { mode: "files" },
      { mode: "off" },
      { mode: "dump", dump: "pg_dumpall -U postgres", restore: "psql -U postgres" },
    ]);
  });

  test.each([
    [
      '    dropstack.backup: "sometimes"\n',
      'stack.yml:4:5: service "db": label dropstack.backup is "sometimes"; the only value is "off", which leaves the service\'s data out of backups (without the label, its folders are backed up as files)',
    ],
    [
      "    dropstack.backup.dumb: pg_dumpall\n",
      'stack.yml:4:5: service "db": label dropstack.backup.dumb is not a backup label; did you mean dropstack.backup.dump?',
    ],
    [
      "    dropstack.backup.dump: pg_dumpall\n",
      'stack.yml:4:5: service "db": label dropstack.backup.dump needs dropstack.backup.restore, the command that reads the dump back on stdin',
    ],
    [
      "    dropstack.backup.restore: psql\n",
      'stack.yml:4:5: service "db": label dropstack.backup.restore needs dropstack.backup.dump, the command that writes the dump to stdout',
    ],
    [
      '    dropstack.backup: "off"\n    dropstack.backup.dump: pg_dumpall\n    dropstack.backup.restore: psql\n',
      'stack.yml:4:5: service "db": label dropstack.backup is "off", so the dump labels have nothing to do; remove one or the other',
    ],
    [
      '    dropstack.backup.dump: ""\n    dropstack.backup.restore: psql\n',
      'stack.yml:4:5: service "db": label dropstack.backup.dump is empty; give the command, run with sh -c',
    ],
    [
      "    dropstack.backup.dump: pg_dumpall -W ${DB_PASSWORD}\n    dropstack.backup.restore: psql\n",
      "stack.yml:4:5: service \"db\": label dropstack.backup.dump holds a secret; name the service's own environment variable instead ($$NAME, which the command reads inside the service's container), so the secret is not copied elsewhere",
    ],
    [
      "    dropstack.backup.dump: |\n      pg_dumpall\n      echo done\n    dropstack.backup.restore: psql\n",
      'stack.yml:4:5: service "db": label dropstack.backup.dump spans lines or holds a tab; write it on one line, joining steps with && or ;',
    ],
  ])("refuse %j with its place and an exact message", (labels, expected) => {
    expect(errorsOf(db(labels))).toEqual([expected]);
  });
});

describe("with data backups on, up and validate --stack", () => {
  const spec = parseStackfile(
    'db:\n  image: mongo:8.0\nstore:\n  image: postgres:16\n  labels:\n    dropstack.backup: "off"\n',
    "stack.yml",
  ).spec;
  const config = { target: "digitalocean" as const, nodes: 1, warnings: [] };

  test("warn of a database whose files would be copied live", () => {
    expect(stackWarnings({ ...config, dataBackups: "daily" }, spec)).toEqual([
      'service "db" runs mongo:8.0, whose files, copied while it writes them, it may not be able ' +
        "to read back: give it dropstack.backup.dump and dropstack.backup.restore labels (see " +
        'docs/stackfile.md, Backups), or dropstack.backup: "off"',
    ]);
    expect(stackWarnings({ ...config, dataBackups: "off" }, spec)).toEqual([]);
  });
});
