// One measurement for scripts/bench.ts, in a fresh process: loads the program under Pulumi's
// mock engine with the Stackfile given as argv[2] and prints the timings as JSON.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";

async function main(): Promise<void> {
  const stackfile = process.argv[2];
  // CPU time beside wall time: on a busy machine the wall time says more about the machine.
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const t0 = performance.now();
  const c0 = cpu();
  const pulumi = await import("@pulumi/pulumi");
  let resources = 0;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources++;
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "digitalocean:index/droplet:Droplet") state.ipv4Address = "203.0.113.10";
        if (args.type === "docker:index/remoteImage:RemoteImage")
          state.imageId = `sha256:${args.name}`;
        if (args.type === "tls:index/privateKey:PrivateKey") {
          state.privateKeyOpenssh =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n";
          state.publicKeyOpenssh = "ssh-ed25519 AAAA\n";
        }
        if (args.type === "random:index/randomPassword:RandomPassword") state.result = "generated";
        // A command's output, as the provider always sets it (image-inspect.sh: one exposed
        // port, one declared volume).
        if (args.type === "command:local:Command")
          state.stdout = args.name.includes("-volumes-") ? '{"/data":{}}' : "8080/tcp ";
        return { id: args.type.endsWith("Droplet") ? "1" : `${args.name}-id`, state };
      },
      call(args) {
        if (args.token === "digitalocean:index/getRegions:getRegions")
          return { regions: [{ slug: "nyc3", available: true }] };
        if (args.token !== "digitalocean:index/getSizes:getSizes") throw new Error(args.token);
        return {
          sizes: [
            {
              slug: "s-2vcpu-2gb",
              priceMonthly: 18,
              vcpus: 2,
              memory: 2048,
              disk: 60,
              available: true,
              regions: ["nyc3"],
            },
          ],
        };
      },
    },
    "dropstack",
    "bench",
    false,
  );
  pulumi.runtime.setAllConfig({ "digitalocean:token": "t", "dropstack:stackfile": stackfile }, []);
  // Keep the SSH files the program writes out of the project.
  process.chdir(fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-bench-")));
  const t1 = performance.now();
  const c1 = cpu();
  const program = (await import("../index")).default as () => Promise<Record<string, unknown>>;
  const t2 = performance.now();
  const c2 = cpu();
  const outputs = await program();
  await Promise.all(
    Object.values(outputs)
      .filter((o) => pulumi.Output.isInstance(o))
      .map((o) => (o as unknown as { promise(): Promise<unknown> }).promise()),
  );
  const t3 = performance.now();
  const c3 = cpu();
  process.stdout.write(
    JSON.stringify({
      sdkLoadMs: t1 - t0,
      programLoadMs: t2 - t1,
      evaluateMs: t3 - t2,
      sdkLoadCpuMs: c1 - c0,
      programLoadCpuMs: c2 - c1,
      evaluateCpuMs: c3 - c2,
      resources,
    }) + "\n",
  );
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
