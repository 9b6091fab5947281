import * as fs from "fs";
import * as path from "path";
import { readStackConfigValues } from "../cli/stack-config";
import { FAKE_IP, ProgramRun, ROOT, runProgram } from "./harness";

const VOLUME = "digitalocean:index/volume:Volume";
const DROPLET = "digitalocean:index/droplet:Droplet";

async function runStack(
  stack: string,
  calls?: Record<string, (inputs: any) => any>,
): Promise<ProgramRun> {
  const { values, secret } = readStackConfigValues(ROOT, stack);
  return runProgram({ stack, config: values, secretKeys: [...secret], calls });
}

test("the project ships dev, prod, local and cluster stacks", () => {
  const stacks = fs
    .readdirSync(ROOT)
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
    .sort();
  expect(stacks).toEqual([
    "Pulumi.cluster.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.local.yaml",
    "Pulumi.prod.yaml",
  ]);
});

describe("the cluster stack", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack("cluster");
  });

  test("is three nodes whose first keeps the data, on destroy too", () => {
    expect(run.all(DROPLET)).toHaveLength(3);
    expect(run.all(VOLUME).map((v) => [v.inputs.size, v.retainOnDelete])).toEqual([[20, true]]);
  });

  test("runs the datascience stack on the data node, where its data is", () => {
    for (const service of ["stack-datascience", "stack-mongo"]) {
      expect(run.find("docker:index/service:Service", service).inputs.taskSpec.placement).toEqual({
        constraints: ["node.labels.dropstack.data == true"],
      });
    }
    expect(run.outputs.monthlyCost).toMatchObject({ nodes: 3, usdPerMonth: 54 });
  });

  test("exports the first node's outputs, and none it has no value for", () => {
    expect(run.outputs).toHaveProperty("sshCommand");
    expect(run.outputs).toHaveProperty("dataVolumeId");
    expect(run.undefinedOutputs).toEqual([]);
  });
});

describe("the dev stack", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack("dev");
  });

  test("is the smallest node that holds the datascience stack, and destroy deletes its data", () => {
    expect(run.find(DROPLET).inputs).toMatchObject({ size: "s-2vcpu-2gb", backups: false });
    expect(run.find(VOLUME).retainOnDelete).toBe(false);
    expect(run.find(VOLUME).inputs.size).toBe(10);
  });

  test("reports its monthly cost from DigitalOcean's size list", () => {
    expect(run.outputs.monthlyCost).toEqual({
      size: "s-2vcpu-2gb",
      usdPerMonth: 18,
      vcpus: 2,
      memoryMiB: 2048,
      diskGiB: 60,
    });
    expect(run.calls).toContain("digitalocean:index/getSizes:getSizes");
  });

  test("exports the node's outputs, and none it has no value for", () => {
    expect(Object.keys(run.outputs).sort()).toEqual([
      "dataVolumeId",
      "ip",
      "monthlyCost",
      "password",
      "services",
      "sshCommand",
      "url",
    ]);
    // tls auto has no CA of the stack's own: no caCertificate, rather than an undefined one.
    expect(run.undefinedOutputs).toEqual([]);
  });
});

describe("the prod stack", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack("prod");
  });

  test("is a larger node with monitoring whose data outlives destroy", () => {
    expect(run.find(DROPLET).inputs).toMatchObject({
      size: "s-4vcpu-8gb",
      // Droplet backups would image the droplet's disk, not the data: the data is backed up.
      backups: false,
      monitoring: true,
    });
    expect(run.find(VOLUME).retainOnDelete).toBe(true);
    expect(run.find(VOLUME).inputs.size).toBe(50);
    expect(run.outputs.monthlyCost.usdPerMonth).toBe(48);
  });

  test("backs up its data daily to a bucket kept on destroy, Spaces' fee stated apart", () => {
    const bucket = run.find("digitalocean:index/spacesBucket:SpacesBucket");
    expect(bucket.retainOnDelete).toBe(true);
    expect(run.outputs.backups).toMatchObject({ schedule: "daily", region: "nyc3" });
    expect(run.outputs.monthlyCost.spaces.usdPerMonth).toBe(5);
  });

  test("opens SSH only to the configured networks", () => {
    const { values } = readStackConfigValues(ROOT, "prod");
    const configured = JSON.parse(values["dropstack:sshSourceCidrs"]);
    const ssh = run
      .find("digitalocean:index/firewall:Firewall")
      .inputs.inboundRules.find((r: any) => r.portRange === "22");
    expect(ssh.sourceAddresses).toEqual(configured);
    expect(ssh.sourceAddresses).not.toContain("0.0.0.0/0");
  });

  test("says, until it is edited, that its example network must be replaced", () => {
    expect(run.warnings).toContainEqual(
      expect.stringMatching(
        /^dropstack:sshSourceCidrs: 203\.0\.113\.0\/24 is an example network reserved for documentation/,
      ),
    );
  });
});

describe("the local stack", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack("local");
  });

  test("creates no DigitalOcean resources and asks no DigitalOcean API", () => {
    expect(run.resources.filter((r) => r.type.startsWith("digitalocean:"))).toEqual([]);
    expect(run.calls.filter((c) => c.startsWith("digitalocean:"))).toEqual([]);
    expect(run.outputs.monthlyCost).toBeUndefined();
    expect(run.outputs.sshCommand).toBeUndefined();
  });

  test("exports only the outputs a stack on this machine has: no node, volume or cost", () => {
    expect(Object.keys(run.outputs).sort()).toEqual(["ip", "password", "services", "url"]);
    // Each undefined one would make Pulumi warn on every preview and up.
    expect(run.undefinedOutputs).toEqual([]);
  });

  test("deploys the same services on this machine's Docker engine", () => {
    const containers = run.all("docker:index/container:Container");
    expect(containers.map((c) => c.name).sort()).toEqual(["stack-datascience-1", "stack-mongo-1"]);
    for (const c of containers) expect(c.provider).toBe("local-docker");
    expect(run.outputs.url).toBe("http://localhost/");
  });

  test("keeps data in named Docker volumes", () => {
    expect(
      run
        .all("docker:index/volume:Volume")
        .map((v) => v.inputs.name)
        .sort(),
    ).toEqual(["dropstack-local-datascience-notebooks", "dropstack-local-mongo-db"]);
    expect(run.find("docker:index/container:Container", "stack-mongo-1").inputs.volumes).toEqual([
      { volumeName: "dropstack-local-mongo-db", containerPath: "/data/db", readOnly: false },
    ]);
  });
});

describe("monthlyCost", () => {
  test("follows DigitalOcean's price, not a table of ours", async () => {
    const run = await runProgram({
      calls: {
        "digitalocean:index/getSizes:getSizes": () => ({
          id: "sizes",
          sizes: [
            {
              slug: "s-2vcpu-2gb",
              priceMonthly: 21.5,
              vcpus: 2,
              memory: 2048,
              disk: 60,
              available: true,
              regions: ["nyc3"],
            },
          ],
        }),
      },
    });
    expect(run.outputs.monthlyCost.usdPerMonth).toBe(21.5);
  });

  test("fails with the config key when DigitalOcean has no such size", async () => {
    const failure = runProgram({ config: { "dropstack:size": "s-99vcpu-1tb" } });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'dropstack:size: "s-99vcpu-1tb" is not a size DigitalOcean offers; list them with `doctl compute size list` ' +
        "or see the control panel's Create Droplet page",
    );
  });

  test("fails before anything exists when the size is not offered in the region", async () => {
    const failure = runProgram({
      config: { "dropstack:size": "g-2vcpu-8gb", "dropstack:region": "sfo3" },
    });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'dropstack:size: "g-2vcpu-8gb" is not offered in sfo3; it is in fra1, nyc3. Choose another size or region',
    );
    const run = await runProgram({
      config: { "dropstack:size": "g-2vcpu-8gb", "dropstack:region": "fra1" },
    });
    expect(run.find("digitalocean:index/droplet:Droplet").inputs.size).toBe("g-2vcpu-8gb");
  });

  test("fails before anything exists when the size can no longer be ordered", async () => {
    const failure = runProgram({ config: { "dropstack:size": "s-1vcpu-3gb" } });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'dropstack:size: "s-1vcpu-3gb" cannot be ordered now (DigitalOcean lists it as unavailable); ' +
        "choose another size, list them with `doctl compute size list` or see the control panel's Create Droplet page",
    );
  });
});

describe("the region", () => {
  const open = "ams3, atl1, blr1, fra1, lon1, nyc1, nyc3, sfo2, sfo3, sgp1, syd1, tor1";

  test("a mistyped one fails before anything exists, with the nearest DigitalOcean offers", async () => {
    const failure = runProgram({ config: { "dropstack:region": "nyc9" } });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'dropstack:region: "nyc9" is not a region DigitalOcean offers; did you mean nyc1 or nyc3? ' +
        `The regions that take new droplets: ${open}`,
    );
  });

  test("one far from every region fails with the list of them", async () => {
    const failure = runProgram({ config: { "dropstack:region": "mex1" } });
    await expect(failure).rejects.toThrow(
      `dropstack:region: "mex1" is not a region DigitalOcean offers; the regions that take new droplets: ${open}`,
    );
  });

  test("is asked of DigitalOcean together with the size, before anything exists", async () => {
    const run = await runProgram({ config: { "dropstack:region": "sgp1" } });
    expect(run.calls.filter((c) => c.startsWith("digitalocean:")).sort()).toEqual([
      "digitalocean:index/getRegions:getRegions",
      "digitalocean:index/getSizes:getSizes",
    ]);
    expect(run.find(DROPLET).inputs.region).toBe("sgp1");
  });
});

describe("DigitalOcean's API out of reach", () => {
  // What the engine answered on the real engine with the API unreachable, as gRPC error details
  // (the SDK rethrows those as the error's message); a bad token's answer has the same shape
  // ("... 401 Unable to authenticate you").
  const unreachable = () => {
    throw Object.assign(new Error("gRPC error"), {
      details:
        "invocation of digitalocean:index/getRegions:getRegions returned an error: invoking " +
        "digitalocean:index/getRegions:getRegions: 1 error occurred:\n" +
        '\t* Unable to load records: Error retrieving regions: Get "http://127.0.0.1:9/v2/regions?page=1&per_page=200": ' +
        "dial tcp 127.0.0.1:9: connect: connection refused\n\n",
    });
  };

  test("stops the program with the provider's reason and what to check, no stack trace", async () => {
    const failure = runProgram({
      calls: { "digitalocean:index/getRegions:getRegions": unreachable },
    });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    const error = await failure.catch((e) => e);
    expect(error.message).toBe(
      'Could not ask DigitalOcean for its regions: Unable to load records: Error retrieving regions: Get "http://127.0.0.1:9/v2/regions?page=1&per_page=200": ' +
        "dial tcp 127.0.0.1:9: connect: connection refused. Check the API token (DIGITALOCEAN_TOKEN, or " +
        "`npx pulumi config set --secret digitalocean:token`) and that this machine reaches DigitalOcean's API",
    );
    expect(error.stack).toBeUndefined();
  });
});

test("the local target's URL is the first fixed port when nothing takes 80", async () => {
  const run = await runProgram({
    stack: "local",
    config: {
      "dropstack:target": "local",
      "dropstack:stackfile": path.join(ROOT, "test", "fixtures", "every-key.yml"),
    },
  });
  expect(run.outputs.url).toBe("http://localhost:8000/");
});

test("the droplet is reached at the address the URL names", async () => {
  const run = await runStack("dev");
  expect(run.outputs.url).toBe(`https://${FAKE_IP}/`);
  expect(path.basename(run.find("command:local:Command", "node-ready").inputs.create)).toBe(
    "wait-ready.sh",
  );
});
