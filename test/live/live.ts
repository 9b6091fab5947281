// The live test (`npm run test:live`): deploys the default stack to a real DigitalOcean droplet
// with Pulumi's Automation API, logs in to the notebook with the exported password, checks that
// the notebook container reaches Mongo through mongoengine, and destroys everything, also when a
// step fails. It needs DIGITALOCEAN_TOKEN and the Pulumi CLI; without them it says it skipped.
// It costs a few cents of droplet time. Not part of `npm test`.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

function skip(reason: string): never {
  console.log(`live test skipped: ${reason}`);
  process.exit(0);
}

function pulumiCli(): string | undefined {
  for (const candidate of ["pulumi", path.join(ROOT, "node_modules", ".bin", "pulumi")]) {
    const result = spawnSync(candidate, ["version"], { encoding: "utf8", timeout: 120_000 });
    if (result.status === 0) return result.stdout.trim();
  }
  return undefined;
}

/** Logs in to jupyter_server with the password; resolves when the server accepts it. */
async function login(url: string, password: string): Promise<void> {
  const page = await fetch(new URL("login", url), { redirect: "manual" });
  if (page.status !== 200) throw new Error(`GET ${url}login answered ${page.status}`);
  const xsrf = /_xsrf=([^;]+)/.exec(page.headers.get("set-cookie") ?? "")?.[1];
  if (!xsrf) throw new Error("the login page set no _xsrf cookie");
  const wrong = await fetch(new URL("login", url), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: `_xsrf=${xsrf}` },
    body: new URLSearchParams({ _xsrf: xsrf, password: "not-the-password" }),
  });
  if (wrong.status === 302) throw new Error("the server accepted a wrong password");
  const right = await fetch(new URL("login", url), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: `_xsrf=${xsrf}` },
    body: new URLSearchParams({ _xsrf: xsrf, password }),
  });
  if (right.status !== 302 || (right.headers.get("location") ?? "").includes("login")) {
    throw new Error(`the server did not accept the exported password (HTTP ${right.status})`);
  }
}

/** Saves and reads a document with mongoengine inside the notebook container, over the pinned SSH. */
function mongoRoundTrip(sshCommand: string, container: string): void {
  const script = [
    "import os, mongoengine",
    "mongoengine.connect(host=os.environ['MONGO_URL'])",
    "class Probe(mongoengine.Document): value = mongoengine.StringField()",
    "Probe(value='live').save()",
    "print(Probe.objects(value='live').count())",
  ].join("\n");
  const result = spawnSync("sh", ["-c", `${sshCommand} docker exec -i ${container} python -`], {
    cwd: ROOT,
    input: script,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0 || Number(result.stdout.trim()) < 1) {
    throw new Error(`mongoengine round trip failed: ${result.stderr || result.stdout}`);
  }
}

async function main(): Promise<void> {
  const token = process.env.DIGITALOCEAN_TOKEN;
  if (!token) skip("DIGITALOCEAN_TOKEN is not set");
  const version = pulumiCli();
  if (!version) skip("the Pulumi CLI is not installed (npx pulumi version fails)");
  console.log(`live test: Pulumi ${version}`);

  const stackName = `live-${crypto.randomBytes(3).toString("hex")}`;
  const state =
    process.env.PULUMI_BACKEND_URL ??
    `file://${fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-live-"))}`;
  const envVars = {
    PULUMI_BACKEND_URL: state,
    PULUMI_CONFIG_PASSPHRASE:
      process.env.PULUMI_CONFIG_PASSPHRASE ?? crypto.randomBytes(16).toString("hex"),
  };
  const stack: Stack = await LocalWorkspace.createStack({ stackName, workDir: ROOT }, { envVars });
  try {
    await stack.setConfig("digitalocean:token", { value: token, secret: true });
    await stack.setConfig("dropstack:readinessTimeoutMinutes", { value: "20" });
    const up = await stack.up({ onOutput: (out) => process.stdout.write(out) });
    const url = up.outputs.url.value as string;
    const password = up.outputs.password.value as string;
    const sshCommand = up.outputs.sshCommand.value as string;
    const container = (up.outputs.services.value as Record<string, { containers: string[] }>)
      .datascience.containers[0];
    await login(url, password);
    console.log("live test: the login page accepts the exported password and rejects a wrong one");
    mongoRoundTrip(sshCommand, container);
    console.log("live test: mongoengine in the notebook container saved and read a document");
  } finally {
    // Always, also after a failure: a forgotten droplet costs money.
    await stack.destroy({ onOutput: (out) => process.stdout.write(out) });
    await stack.workspace.removeStack(stackName);
  }
  console.log("live test: passed, and everything it created is destroyed");
}

main().catch((err) => {
  console.error(`live test failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
