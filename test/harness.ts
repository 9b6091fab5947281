// Runs the dropstack program under Pulumi's mock engine and records what it registers.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type * as pulumiType from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Names of the resources it depends on, through `dependsOn` or through its inputs. */
  dependsOn: string[];
  /** The name of the resource whose deletion skips its own (`deletedWith`). */
  deletedWith?: string;
  /** The names of the resources whose replacement replaces it, deleted first (`replaceWith`). */
  replaceWith: string[];
  /** The parents' URNs its aliases name: the parents it may have had in the state before. */
  aliasParents: string[];
  /** The parent's name, if any. */
  parent?: string;
  custom: boolean;
  /** What the (mock) provider returned: inputs plus computed properties. */
  state?: Record<string, any>;
  /** The provider resource's name, for custom resources with an explicit provider. */
  provider?: string;
  /** The `retainOnDelete` option: `pulumi destroy` leaves the cloud resource in place. */
  retainOnDelete: boolean;
  /** The `deleteBeforeReplace` option: a replacement deletes the old resource first. */
  deleteBeforeReplace: boolean;
  /** The `replaceOnChanges` option: input paths whose change replaces the resource. */
  replaceOnChanges: string[];
  /** The `ignoreChanges` option: input paths whose change the engine ignores after create. */
  ignoreChanges: string[];
  /** The `replacementTrigger` option's value: when it changes, the resource is replaced. */
  replacementTrigger?: unknown;
  /** The `import` option: the ID of an existing cloud resource to adopt. */
  importId?: string;
  /** Dotted paths of the inputs that arrived as secrets. */
  secretInputs: Set<string>;
}

export interface ProgramRun {
  /** The folder the program ran in, as Pulumi runs it in the project folder. */
  cwd: string;
  resources: RecordedResource[];
  /** What the program logged as warnings (pulumi.log.warn). */
  warnings: string[];
  /** The tokens of the provider functions the program called, in order. */
  calls: string[];
  /** The stack's outputs, resolved; `secrets` lists the ones that are secret. */
  outputs: Record<string, any>;
  secrets: Set<string>;
  /**
   * The outputs the program returned as undefined, or as an Output of undefined: for each, Pulumi
   * warns `Undefined value (<key>) will not show as a stack output` on every preview and up.
   */
  undefinedOutputs: string[];
  find(type: string, name?: string): RecordedResource;
  all(type: string): RecordedResource[];
}

export const FAKE_IP = "203.0.113.10";
export const FAKE_IPV6 = "2001:db8::10";

/** A node's number from its resource's name: node-… is 1, node-3-… is 3. */
function nodeNumber(name: string): number {
  return Number(/^node-(\d+)-/.exec(name)?.[1] ?? 1);
}
export const ROOT = path.resolve(__dirname, "..");

/** Fake but recognisable values for what providers compute. */
function computedState(
  type: string,
  name: string,
  inputs: any,
  options: RunOptions,
): Record<string, any> {
  switch (type) {
    case "digitalocean:index/droplet:Droplet":
      // The first node (node-droplet) at FAKE_IP; a cluster's node-N-droplet at .10+N-1.
      return {
        ...inputs,
        ipv4Address: FAKE_IP.replace(/\d+$/, String(9 + nodeNumber(name))),
        ipv4AddressPrivate: `10.10.0.${1 + nodeNumber(name)}`,
        ipv6Address: inputs.ipv6 ? FAKE_IPV6 : "",
        urn: `urn:${name}`,
      };
    case "digitalocean:index/sshKey:SshKey":
      return { ...inputs, fingerprint: "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa" };
    case "tls:index/privateKey:PrivateKey":
      return {
        ...inputs,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5PUBLIC${name.replace(/\W/g, "")}\n`,
        privateKeyPem: `-----BEGIN EC PRIVATE KEY-----\nSECRET-${name}\n-----END EC PRIVATE KEY-----\n`,
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
      return {
        ...inputs,
        certPem: `-----BEGIN CERTIFICATE-----\nCA-${name}\n-----END CERTIFICATE-----\n`,
      };
    case "digitalocean:index/spacesKey:SpacesKey":
      return { ...inputs, accessKey: `ACCESS-${name}`, secretKey: `SECRET-${name}` };
    case "random:index/randomString:RandomString":
      return { ...inputs, result: "k3x9q2ab".slice(0, inputs.length ?? 8) };
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: `GeneratedSecret-${name}-${"x".repeat(inputs.length ?? 8)}` };
    case "docker:index/remoteImage:RemoteImage": {
      const hex = Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64);
      return {
        ...inputs,
        imageId: `sha256:${hex}`,
        // As Docker reports a pulled image's; a built one has none until pushed.
        repoDigest: inputs.build ? "" : `${inputs.name.replace(/:[^/:]+$/, "")}@sha256:${hex}`,
      };
    }
    case "command:local:Command":
      // By default what the scripts print when there is nothing to say; image-inspect.sh
      // volumes prints JSON, `null` for an image that declares none.
      return {
        ...inputs,
        stdout: options.commandStdout?.[name] ?? (/-volumes-/.test(name) ? "null" : ""),
        stderr: "",
      };
    default:
      return inputs;
  }
}

/** Regions where the stand-in sizes are offered, as DigitalOcean lists them. */
const REGIONS = ["ams3", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo3", "sgp1", "syd1", "tor1"];

/** A stand-in for DigitalOcean's size list, filtered by slug as the API would. */
export const SIZES = [
  {
    slug: "s-2vcpu-2gb",
    priceMonthly: 18,
    priceHourly: 0.02679,
    vcpus: 2,
    memory: 2048,
    disk: 60,
    available: true,
    regions: REGIONS,
  },
  {
    slug: "s-4vcpu-8gb",
    priceMonthly: 48,
    priceHourly: 0.07143,
    vcpus: 4,
    memory: 8192,
    disk: 160,
    available: true,
    regions: REGIONS,
  },
  // Offered in a few regions only, and one no longer sold.
  {
    slug: "g-2vcpu-8gb",
    priceMonthly: 63,
    priceHourly: 0.09375,
    vcpus: 2,
    memory: 8192,
    disk: 25,
    available: true,
    regions: ["nyc3", "fra1"],
  },
  {
    slug: "s-1vcpu-3gb",
    priceMonthly: 15,
    priceHourly: 0.02232,
    vcpus: 1,
    memory: 3072,
    disk: 60,
    available: false,
    regions: REGIONS,
  },
];

/** A stand-in for DigitalOcean's region list: every slug it has, three closed to new droplets. */
const REGION_LIST = [
  ["ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"],
  ["ams2", "nyc2", "sfo1"],
].flatMap((slugs, closed) =>
  slugs.map((slug) => ({ slug, name: slug, available: !closed, features: [], sizes: [] })),
);

const DEFAULT_CALLS: Record<string, (inputs: any) => any> = {
  // A new backups bucket: no snapshot yet.
  "digitalocean:index/getSpacesBucketObjects:getSpacesBucketObjects": (inputs) => ({
    id: "objects",
    bucket: inputs.bucket,
    region: inputs.region,
    keys: [],
  }),
  "digitalocean:index/getRegions:getRegions": () => ({ id: "regions", regions: REGION_LIST }),
  "digitalocean:index/getSizes:getSizes": (inputs) => {
    const slugs: string[] = inputs.filters?.find((f: any) => f.key === "slug")?.values ?? [];
    return {
      id: "sizes",
      sizes: SIZES.filter((s) => slugs.length === 0 || slugs.includes(s.slug)),
    };
  },
};

export interface RunOptions {
  /** Stack config, keys with their namespace (`dropstack:region`), values as the engine gives them. */
  config?: Record<string, string>;
  secretKeys?: string[];
  stack?: string;
  preview?: boolean;
  /** Answers for provider functions (invokes) by token; any other call fails the test. */
  calls?: Record<string, (inputs: any) => any>;
  /** What local commands print, by resource name (default: nothing). */
  commandStdout?: Record<string, string>;
}

/** Loads `../index` afresh under the mock engine with the given config. */
export async function runProgram(options: RunOptions = {}): Promise<ProgramRun> {
  // Each run loads its own copy of the Pulumi SDK (jest.resetModules), and each copy adds an
  // `exit` listener, its leak detector (runtime/debuggable.js), at its first RPC. The run's copy
  // is done with when the run is: its listener goes too, or the eleventh run of a test file makes
  // Node warn of a listener leak (MaxListenersExceededWarning).
  const before = new Set(process.listeners("exit"));
  try {
    return await runProgramOnce(options);
  } finally {
    for (const listener of process.listeners("exit"))
      if (!before.has(listener)) process.removeListener("exit", listener);
  }
}

async function runProgramOnce(options: RunOptions): Promise<ProgramRun> {
  const stack = options.stack ?? "test";
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-test-"));
  process.chdir(cwd);
  jest.resetModules();
  const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
  const resources: RecordedResource[] = [];
  const calls: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const record = resources.find((r) => r.type === args.type && r.name === args.name);
        const state = computedState(args.type, args.name, args.inputs, options);
        if (record) {
          record.inputs = unwrapSecrets(args.inputs, record.secretInputs);
          record.state = unwrapSecrets(state, new Set());
        }
        // Droplet IDs are numbers: the first node's 1001, node N's 1000+N.
        const id =
          args.type === "digitalocean:index/droplet:Droplet"
            ? String(1000 + nodeNumber(args.name))
            : `${args.name}-id`;
        return { id, state };
      },
      call(args) {
        calls.push(args.token);
        const answer = { ...DEFAULT_CALLS, ...options.calls }[args.token];
        if (!answer) throw new Error(`unexpected call to ${args.token}`);
        return answer(args.inputs);
      },
    },
    "dropstack",
    stack,
    options.preview ?? false,
  );
  pulumi.runtime.setAllConfig(
    {
      "digitalocean:token": "test-token",
      "dropstack:stackfile": path.join(ROOT, "stacks", "datascience.yml"),
      ...options.config,
    },
    options.secretKeys ?? [],
  );
  // The mock monitor hands `newResource` no dependencies: read them off the raw request.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    resources.push({
      type: req.getType(),
      name: req.getName(),
      inputs: {},
      dependsOn: (req.getDependenciesList() as string[]).map(nameOfUrn),
      parent: req.getParent() ? nameOfUrn(req.getParent()) : undefined,
      custom: req.getCustom(),
      secretInputs: new Set(),
      retainOnDelete: req.getRetainondelete?.() ?? false,
      deleteBeforeReplace: req.getDeletebeforereplace(),
      replaceOnChanges: req.getReplaceonchangesList(),
      ignoreChanges: req.getIgnorechangesList(),
      replacementTrigger: req.getReplacementTrigger()?.toJavaScript(),
      deletedWith: req.getDeletedwith?.() ? nameOfUrn(req.getDeletedwith()) : undefined,
      replaceWith: ((req.getReplaceWithList?.() ?? []) as string[]).map(nameOfUrn),
      aliasParents: (req.getAliasesList?.() ?? []).map((a: any) => a.getSpec()?.getParenturn()),
      importId: req.getImportid() || undefined,
      // A provider reference reads `<urn>::<id>`; the URN ends with the provider's name.
      provider: req.getProvider() ? req.getProvider().split("::").slice(-2)[0] : undefined,
    });
    return register(req, callback);
  };

  const warnings: string[] = [];
  const warn = jest.spyOn(console, "warn").mockImplementation((message: string) => {
    warnings.push(String(message).replace(/^warning: \[runtime\] /, ""));
  });
  let program: Record<string, any>;
  try {
    // The program is an async function, as Pulumi runs it: its result is the stack's outputs.
    const main = (await import("../index")).default as () => Promise<Record<string, any>>;
    program = await main();
  } catch (e) {
    // Let tests of bad input check that nothing was created before the error.
    (e as { resources?: RecordedResource[] }).resources = resources;
    warn.mockRestore();
    process.chdir(ROOT);
    throw e;
  }
  const outputs: Record<string, any> = {};
  const secrets = new Set<string>();
  const undefinedOutputs: string[] = [];
  for (const [key, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = await valueOf(value).catch((e) => {
        process.chdir(ROOT);
        throw e;
      });
      if (outputs[key] === undefined) undefinedOutputs.push(key);
      if (await pulumi.isSecret(value)) secrets.add(key);
    } else if (value !== undefined) {
      outputs[key] = value;
    } else {
      undefinedOutputs.push(key);
    }
  }
  await settle();
  warn.mockRestore();
  process.chdir(ROOT);
  return {
    cwd,
    resources,
    calls,
    warnings,
    outputs,
    secrets,
    undefinedOutputs,
    find(type, name) {
      const found = resources.filter(
        (r) => r.type === type && (name === undefined || r.name === name),
      );
      if (found.length !== 1) {
        throw new Error(
          `expected one ${type} ${name ?? ""}, found ${found.length}: ${resources.map((r) => `${r.type} ${r.name}`).join(", ")}`,
        );
      }
      return found[0];
    },
    all(type) {
      return resources.filter((r) => r.type === type);
    },
  };
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces the engine's secret wrappers by their values, noting where they were. */
function unwrapSecrets(value: any, secrets: Set<string>, at = ""): any {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, secrets, `${at}[${i}]`));
  if (value === null || typeof value !== "object") return value;
  if (value["4dabf18193072939515e22adb298388d"] === SECRET_SIG) {
    secrets.add(at);
    return unwrapSecrets(value.value, secrets, at);
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, secrets, at ? `${at}.${k}` : k)]),
  );
}

function nameOfUrn(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

/** The resolved value of an Output (secret or not); rejects when an apply inside it threw. */
export function valueOf<T>(output: pulumiType.Output<T>): Promise<T> {
  // `promise()` is the SDK's own (internal) accessor; unlike apply it also surfaces failures.
  return (output as unknown as { promise(): Promise<T> }).promise();
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}
