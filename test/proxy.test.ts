// The HTTPS front proxy under the mock engine: what is published, what the proxy is given, the
// url, DNS, the internal CA; and the Caddyfile the program sends, checked by Caddy itself.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfigValues } from "../cli/stack-config";
import { caId, CADDY_IMAGE, CADDY_VERSION, renderCaddyfile } from "../proxy/caddy";
import { candidateZones, recordFor } from "../proxy/dns";
import { planProxy } from "../proxy/plan";
import { parseStackfile } from "../stackfile";
import { linkEnvironment } from "../stackfile/links";
import { caddyBinary, testWithCaddy } from "./caddy";
import { FAKE_IP, ProgramRun, ROOT, runProgram } from "./harness";
import { makeCa } from "./servers";
import { testWithAll, testWithTool } from "./tools";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const DNS = "digitalocean:index/dnsRecord:DnsRecord";
const GET_DOMAINS = "digitalocean:index/getDomains:getDomains";

function envOf(run: ProgramRun, container: string): Record<string, string> {
  const envs: string[] = run.find(CONTAINER, container).inputs.envs;
  return Object.fromEntries(
    envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

function upload(run: ProgramRun, file: string): string {
  const uploads: { file: string; content: string }[] = run.find(CONTAINER, "proxy-container").inputs
    .uploads;
  const found = uploads.find((u) => u.file === file);
  if (!found) throw new Error(`no upload ${file}: ${uploads.map((u) => u.file).join(", ")}`);
  return found.content;
}

/** DigitalOcean's domain list, filtered by name as the API does. */
function domainsCall(zones: string[]) {
  return {
    [GET_DOMAINS]: (inputs: any) => {
      const names: string[] = inputs.filters?.find((f: any) => f.key === "name")?.values ?? [];
      return {
        id: "domains",
        domains: zones
          .filter((z) => names.length === 0 || names.includes(z))
          .map((name) => ({ name, ttl: 1800, urn: `do:domain:${name}` })),
      };
    },
  };
}

describe("by default on DigitalOcean (tls auto, no domain)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ stack: "dev" });
  });

  test("runs the pinned Caddy on the stack's network with the node's IP as its site", () => {
    const proxy = run.find(CONTAINER, "proxy-container");
    expect(proxy.inputs).toMatchObject({
      name: "dropstack-dev-proxy",
      networksAdvanced: [{ name: "dropstack-dev" }],
      restart: "unless-stopped",
    });
    expect(run.find(IMAGE, "proxy-image").inputs).toEqual({ name: CADDY_IMAGE, keepLocally: true });
    expect(proxy.inputs.image).toBe(run.find(IMAGE, "proxy-image").state!.imageId);
    expect(envOf(run, "proxy-container")).toEqual({
      DROPSTACK_SITE: FAKE_IP,
      XDG_DATA_HOME: "/data",
      XDG_CONFIG_HOME: "/config",
    });
    expect(proxy.provider).toBe("node-docker");
  });

  test("asks Let's Encrypt for an IP certificate (shortlived profile) and forwards to the notebook", () => {
    const caddyfile = upload(run, "/etc/caddy/Caddyfile");
    expect(caddyfile).toContain("issuer acme https://acme-v02.api.letsencrypt.org/directory {");
    expect(caddyfile).toContain("profile shortlived");
    expect(caddyfile).toContain('header Strict-Transport-Security "max-age=31536000"');
    expect(caddyfile).toContain("reverse_proxy datascience-1:8888\n");
    expect(run.all("tls:index/selfSignedCert:SelfSignedCert")).toEqual([]);
  });

  test("keeps certificates and the ACME account on the data volume", () => {
    expect(run.find(CONTAINER, "proxy-container").inputs.volumes).toEqual([
      { hostPath: "/mnt/data/dev/.proxy/data", containerPath: "/data" },
      { hostPath: "/mnt/data/dev/.proxy/config", containerPath: "/config" },
    ]);
  });

  test("starts after the notebook's container, which held port 80 before the proxy existed", () => {
    const proxy = run.find(CONTAINER, "proxy-container");
    expect(proxy.dependsOn).toContain("stack-datascience-1");
    // After the node is ready, through the provider, as every container.
    expect(proxy.provider).toBe("node-docker");
  });

  test("waits for the HTTPS URL with the system's trust store, connecting to the node", () => {
    const ready = run.find("command:local:Command", "app-ready");
    expect(ready.inputs.environment).toEqual({
      DROPSTACK_CONNECT_TO: FAKE_IP,
      DROPSTACK_PROXY_CONTAINER: "dropstack-dev-proxy",
    });
  });

  test("makes no DNS record and exports no CA", () => {
    expect(run.all(DNS)).toEqual([]);
    expect(run.calls).not.toContain(GET_DOMAINS);
    expect(run.outputs.caCertificate).toBeUndefined();
  });

  test("opens exactly 22, 80 and 443 in the firewall", () => {
    const rules = run.find("digitalocean:index/firewall:Firewall").inputs.inboundRules;
    expect(rules.map((r: any) => r.portRange)).toEqual(["22", "80", "443"]);
  });
});

describe("with a domain", () => {
  test("gets a certificate for the name from Let's Encrypt's default profile", async () => {
    const run = await runProgram({
      stack: "dev",
      config: { "dropstack:domain": "notebooks.example.com" },
    });
    expect(run.outputs.url).toBe("https://notebooks.example.com/");
    expect(envOf(run, "proxy-container").DROPSTACK_SITE).toBe("notebooks.example.com");
    const caddyfile = upload(run, "/etc/caddy/Caddyfile");
    expect(caddyfile).not.toContain("profile");
    expect(caddyfile).not.toContain("issuer");
    expect(run.all(DNS)).toEqual([]);
    expect(run.find("command:local:Command", "app-ready").inputs.environment).toMatchObject({
      DROPSTACK_CONNECT_TO: FAKE_IP,
    });
  });

  test("with manageDns, points an A record at the node in the zone that holds it", async () => {
    const run = await runProgram({
      stack: "dev",
      config: { "dropstack:domain": "nb.team.example.com", "dropstack:manageDns": "true" },
      calls: domainsCall(["example.com", "team.example.com", "other.org"]),
    });
    expect(run.find(DNS, "dns-a").inputs).toEqual({
      domain: "team.example.com",
      name: "nb",
      type: "A",
      value: FAKE_IP,
      ttl: 300,
    });
    expect(run.all(DNS)).toHaveLength(1);
    expect(run.find(CONTAINER, "proxy-container").dependsOn).toContain("dns-a");
  });

  test("with manageDns on a cluster, one A record, the first node's, where the proxy answers", async () => {
    const run = await runProgram({
      stack: "dev",
      config: {
        "dropstack:domain": "nb.team.example.com",
        "dropstack:manageDns": "true",
        "dropstack:nodes": "3",
      },
      calls: domainsCall(["team.example.com"]),
    });
    expect(run.all(DNS).map((r) => [r.name, r.inputs.value])).toEqual([["dns-a", FAKE_IP]]);
    expect(run.find("docker:index/service:Service", "proxy-service").dependsOn).toContain("dns-a");
  });

  test("with manageDns and IPv6, makes the A record only, since the proxy answers on IPv4; a zone's apex is @", async () => {
    const run = await runProgram({
      stack: "dev",
      config: {
        "dropstack:domain": "example.com",
        "dropstack:manageDns": "true",
        "dropstack:ipv6": "true",
      },
      calls: domainsCall(["example.com"]),
    });
    expect(run.find(DNS, "dns-a").inputs).toMatchObject({ name: "@", type: "A" });
    expect(run.all(DNS).map((r) => r.inputs.type)).toEqual(["A"]);
  });

  test("with manageDns and no zone for it in the account, fails before creating anything", async () => {
    const failure = runProgram({
      stack: "dev",
      config: { "dropstack:domain": "nb.example.com", "dropstack:manageDns": "true" },
      calls: domainsCall(["other.org"]),
    });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'dropstack:manageDns: no domain in your DigitalOcean account holds "nb.example.com"; add ' +
        "example.com (or a zone under it) in the control panel's Networking > Domains and point its " +
        "registrar at DigitalOcean's name servers, or set manageDns to false and make the A record yourself",
    );
  });
});

describe("tls internal", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ stack: "dev", config: { "dropstack:tls": "internal" } });
  });

  test("gives the proxy the stack's own root CA, its key as a secret, and exports the certificate", () => {
    const ca = run.find("tls:index/selfSignedCert:SelfSignedCert", "proxy-ca");
    expect(ca.inputs).toMatchObject({
      isCaCertificate: true,
      allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    });
    expect(upload(run, "/etc/caddy/ca/root.crt")).toBe(ca.state!.certPem);
    expect(upload(run, "/etc/caddy/ca/root.key")).toContain("SECRET-proxy-ca-key");
    expect(run.find(CONTAINER, "proxy-container").secretInputs).toContain("uploads");
    expect(run.outputs.caCertificate).toBe(ca.state!.certPem);
    expect(run.secrets).not.toContain("caCertificate");
  });

  test("signs with that CA, sends no HSTS, and waits for the URL trusting that CA", () => {
    const caddyfile = upload(run, "/etc/caddy/Caddyfile");
    expect(caddyfile).toContain("\t\tissuer internal {\n\t\t\tca {$DROPSTACK_CA}\n");
    expect(caddyfile).not.toContain("Strict-Transport-Security");
    expect(run.outputs.url).toBe(`https://${FAKE_IP}/`);
    const env = run.find("command:local:Command", "app-ready").inputs.environment;
    expect(env.DROPSTACK_CA_PEM).toBe(run.outputs.caCertificate);
  });
});

// Found by the emulated DigitalOcean: after a destroy that kept the volume and an up that adopted
// it, the new root met the intermediate Caddy had kept on the volume, signed by the old root, and
// `up` waited for a URL no client given the new root could trust.
test("names the CA in Caddy after its root, so a new root never uses an old root's intermediate", async () => {
  const run = await runProgram({ stack: "dev", config: { "dropstack:tls": "internal" } });
  const root = run.find("tls:index/selfSignedCert:SelfSignedCert", "proxy-ca").state!.certPem;
  expect(envOf(run, "proxy-container").DROPSTACK_CA).toBe(caId(root));
  expect(caId(root)).toMatch(/^dropstack-[0-9a-f]{12}$/);
  expect(caId(`${root}\n`)).not.toBe(caId(root));
  const caddyfile = upload(run, "/etc/caddy/Caddyfile");
  expect(caddyfile).toContain("\tpki {\n\t\tca {$DROPSTACK_CA} {\n");
  expect(caddyfile).not.toMatch(/ca local|tls internal/);
});

describe("tls off", () => {
  test("publishes the web service on 80 itself, with http URL and a warning", async () => {
    const run = await runProgram({ stack: "dev", config: { "dropstack:tls": "off" } });
    expect(run.all(CONTAINER).map((c) => c.name)).not.toContain("proxy-container");
    expect(run.find(CONTAINER, "stack-datascience-1").inputs.ports).toEqual([
      { internal: 8888, external: 80, protocol: "tcp" },
    ]);
    expect(run.outputs.url).toBe(`http://${FAKE_IP}/`);
    expect(run.warnings).toContain(
      "dropstack:tls is off: the notebook password, its cookies and every notebook cross the " +
        "internet in clear text. Leave it unset (auto) for HTTPS with a trusted certificate",
    );
  });
});

describe("on the local target", () => {
  test("keeps http://localhost/ by default", async () => {
    const run = await runProgram({ stack: "local", config: { "dropstack:target": "local" } });
    expect(run.all(CONTAINER).map((c) => c.name)).not.toContain("proxy-container");
    expect(run.outputs.url).toBe("http://localhost/");
  });

  test("with tls internal, serves https://localhost/ with certificates in a named volume", async () => {
    const run = await runProgram({
      stack: "local",
      config: { "dropstack:target": "local", "dropstack:tls": "internal" },
    });
    expect(run.outputs.url).toBe("https://localhost/");
    expect(envOf(run, "proxy-container").DROPSTACK_SITE).toBe("localhost");
    expect(run.find(CONTAINER, "proxy-container").inputs.volumes).toEqual([
      { volumeName: "dropstack-local-proxy-data", containerPath: "/data" },
      { volumeName: "dropstack-local-proxy-config", containerPath: "/config" },
    ]);
    expect(run.find(CONTAINER, "proxy-container").provider).toBe("local-docker");
  });
});

describe("Stackfiles the proxy cannot front", () => {
  test("a service on port 443 fails before anything is created, naming it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-proxy-"));
    const file = path.join(dir, "stack.yml");
    fs.writeFileSync(file, 'web:\n  image: nginx:1.27\n  ports:\n    - "80:80"\n    - "443:443"\n');
    const failure = runProgram({ stack: "dev", config: { "dropstack:stackfile": file } });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      `${file}: service "web" publishes 443:443, but the HTTPS proxy (dropstack:tls auto) takes ` +
        "ports 80 and 443; publish it on another port, or set dropstack:tls off",
    );
  });
});

describe("planProxy", () => {
  const parse = (yaml: string) => parseStackfile(yaml, "stack.yml").spec;
  const digitalocean = { target: "digitalocean" as const, tls: "auto" as const, domain: "" };

  test("keeps the link variables of services that link to the web service", () => {
    const spec = parse(
      'web:\n  image: nginx:1.27\n  ports:\n    - "80:8080"\nworker:\n  image: busybox:1\n  links:\n    - web\n',
    );
    const plan = planProxy(digitalocean, spec)!;
    const worker = (s: typeof spec) => s.services.find((svc) => svc.name === "worker")!;
    expect(linkEnvironment(worker(plan.spec), plan.spec.services)).toEqual(
      linkEnvironment(worker(spec), spec.services),
    );
    expect(plan.spec.services[0].ports).toEqual([]);
    expect(plan.spec.services[0].expose).toEqual([{ port: 8080, protocol: "tcp" }]);
  });

  test("forwards to every replica of the web service", () => {
    const spec = parse(
      'web:\n  image: nginx:1.27\n  target_num_containers: 2\n  expose:\n    - "8080"\n',
    );
    expect(planProxy(digitalocean, spec)).toBeUndefined();
    const published = parse('web:\n  image: nginx:1.27\n  ports:\n    - "80:8080"\n');
    published.services[0].replicas = 2;
    expect(planProxy(digitalocean, published)!.caddyfile).toContain(
      "reverse_proxy web-1:8080 web-2:8080\n",
    );
  });

  test("refuses a web service on the host's network, saying what to change", () => {
    const spec = parse('web:\n  image: nginx:1.27\n  net: host\n  ports:\n    - "80:80"\n');
    expect(() => planProxy(digitalocean, spec)).toThrow(
      'service "web" uses net: host, so it binds port 80 on the node itself and the HTTPS proxy ' +
        "(dropstack:tls auto) takes ports 80 and 443; remove net: host, or set dropstack:tls off",
    );
  });
});

describe("DNS zones", () => {
  test("a name's zones are itself and its parents, never the bare TLD", () => {
    expect(candidateZones("a.b.example.com")).toEqual([
      "a.b.example.com",
      "b.example.com",
      "example.com",
    ]);
  });

  test("the longest zone in the account wins", () => {
    expect(recordFor("a.b.example.com", ["example.com", "b.example.com"])).toEqual({
      zone: "b.example.com",
      name: "a",
    });
    expect(recordFor("example.com", ["example.com"])).toEqual({ zone: "example.com", name: "@" });
    expect(recordFor("example.com", ["ample.com"])).toBeUndefined();
  });
});

describe("the Caddyfile, checked by Caddy at the version the node runs", () => {
  const caddy = () => caddyBinary()!;
  const validate = (caddyfile: string, site: string, ca = "") => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-caddy-"));
    const file = path.join(dir, "Caddyfile");
    fs.writeFileSync(file, caddyfile);
    const result = spawnSync(caddy(), ["validate", "--adapter", "caddyfile", "--config", file], {
      encoding: "utf8",
      env: {
        ...process.env,
        DROPSTACK_SITE: site,
        DROPSTACK_CA: ca,
        XDG_DATA_HOME: dir,
        XDG_CONFIG_HOME: dir,
      },
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };

  testWithCaddy()("is the release the node's image runs", () => {
    const version = spawnSync(caddy(), ["version"], { encoding: "utf8" }).stdout;
    expect(version.split(" ")[0]).toBe(`v${CADDY_VERSION}`);
    expect(CADDY_IMAGE).toBe(`caddy:${CADDY_VERSION}`);
  });

  for (const stack of ["dev", "prod"]) {
    for (const variant of [{}, { "dropstack:domain": "notebooks.example.com" }] as Record<
      string,
      string
    >[]) {
      testWithCaddy()(
        `accepts what the ${stack} stack sends ${"dropstack:domain" in variant ? "with a domain" : "for its IP address"}`,
        async () => {
          const { values, secret } = readStackConfigValues(ROOT, stack);
          const run = await runProgram({
            stack,
            config: { ...values, ...variant },
            secretKeys: [...secret],
          });
          const result = validate(
            upload(run, "/etc/caddy/Caddyfile"),
            envOf(run, "proxy-container").DROPSTACK_SITE,
          );
          expect(result.output).toContain("Valid configuration");
          expect(result.status).toBe(0);
        },
      );
    }
  }

  testWithAll(testWithCaddy(), testWithTool("openssl", ["version"]))(
    "accepts tls internal with a real CA (the local stack)",
    async () => {
      const { values } = readStackConfigValues(ROOT, "local");
      const run = await runProgram({
        stack: "local",
        config: { ...values, "dropstack:tls": "internal" },
      });
      const sent = upload(run, "/etc/caddy/Caddyfile");
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-ca-"));
      const { cert, key } = makeCa(dir, "dropstack test root CA");
      // The same Caddyfile with the CA's files where this machine has them.
      const here = sent
        .replace("cert /etc/caddy/ca/root.crt", `cert ${cert}`)
        .replace("key /etc/caddy/ca/root.key", `key ${key}`);
      expect(here).toBe(
        renderCaddyfile({
          certificates: "internal",
          upstreams: ["datascience-1:8888"],
          hsts: false,
          caFiles: { cert, key },
        }),
      );
      const env = envOf(run, "proxy-container");
      const result = validate(here, env.DROPSTACK_SITE, env.DROPSTACK_CA);
      expect(result.output).toContain("Valid configuration");
      expect(result.status).toBe(0);
    },
  );

  testWithCaddy()("rejects a broken one, so the checks above can fail", () => {
    const broken = renderCaddyfile({
      certificates: "acme-ip",
      upstreams: ["web-1:80"],
      hsts: true,
    }).replace("profile shortlived", "profile");
    const result = validate(broken, FAKE_IP);
    expect(result.status).not.toBe(0);
  });
});
