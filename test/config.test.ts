import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_KEYS, DEFAULTS, isCidr, parseConfig } from "../config";
import { messageOf, parse } from "./config-parse";

describe("stack config", () => {
  test("falls back to the defaults Pulumi.yaml declares", () => {
    const config = parse({});
    const declared = YAML.parse(
      fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"),
    ).config;
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect({ key, value: declared[key].default }).toEqual({ key, value });
      expect({ key, value: config[key as keyof typeof config] }).toEqual({ key, value });
    }
  });

  test("declares every key it reads in Pulumi.yaml, and no other", () => {
    const declared = YAML.parse(
      fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"),
    ).config;
    expect(Object.keys(declared).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  test("reads typed values", () => {
    const config = parse({
      "dropstack:volumeSize": "25",
      "dropstack:dropletBackups": "true",
      "dropstack:sshSourceCidrs": '["10.0.0.0/8","2001:db8::/32"]',
    });
    expect(config.volumeSize).toBe(25);
    expect(config.dropletBackups).toBe(true);
    expect(config.sshSourceCidrs).toEqual(["10.0.0.0/8", "2001:db8::/32"]);
  });

  test.each([
    [
      { "dropstack:region": "NYC 3" },
      'dropstack:region: "NYC 3" is not a DigitalOcean region slug; use one like nyc3, sfo3, ams3 or fra1',
    ],
    [
      { "dropstack:size": "2gb!" },
      'dropstack:size: "2gb!" is not a DigitalOcean size slug; use one like s-2vcpu-2gb or s-4vcpu-8gb',
    ],
    [
      { "dropstack:image": "Ubuntu 24.04" },
      'dropstack:image: "Ubuntu 24.04" is not a DigitalOcean image slug; use one like ubuntu-24-04-x64',
    ],
    [
      { "dropstack:volumeSize": "0" },
      'dropstack:volumeSize: "0" is not allowed; use a whole number of GiB from 1 to 16384',
    ],
    [
      { "dropstack:volumeSize": "ten" },
      'dropstack:volumeSize: "ten" is not allowed; use a whole number of GiB from 1 to 16384',
    ],
    [
      { "dropstack:readinessTimeoutMinutes": "500" },
      'dropstack:readinessTimeoutMinutes: "500" is not allowed; use a whole number of minutes from 1 to 120',
    ],
    [
      { "dropstack:dropletBackups": "yes" },
      'dropstack:dropletBackups: "yes" is not a boolean; use true or false',
    ],
    [
      { "dropstack:retainDataOnDestroy": "1" },
      'dropstack:retainDataOnDestroy: "1" is not a boolean; use true or false',
    ],
    [{ "dropstack:ipv6": "on" }, 'dropstack:ipv6: "on" is not a boolean; use true or false'],
    [
      { "dropstack:monitoring": "no" },
      'dropstack:monitoring: "no" is not a boolean; use true or false',
    ],
    [
      { "dropstack:target": "aws" },
      'dropstack:target: "aws" is not a target; use digitalocean or local',
    ],
    [
      { "dropstack:sshSourceCidrs": '["10.0.0.1"]' },
      'dropstack:sshSourceCidrs: "10.0.0.1" is not a CIDR; use an IPv4 or IPv6 network like 203.0.113.0/24, 198.51.100.7/32 or ::/0',
    ],
    [
      { "dropstack:sshSourceCidrs": '["300.1.1.1/8"]' },
      'dropstack:sshSourceCidrs: "300.1.1.1/8" is not a CIDR; use an IPv4 or IPv6 network like 203.0.113.0/24, 198.51.100.7/32 or ::/0',
    ],
    [
      { "dropstack:sshSourceCidrs": "10.0.0.0/8" },
      'dropstack:sshSourceCidrs: "10.0.0.0/8" is not a list of strings',
    ],
    [
      { "dropstack:sshKeyFingerprints": '["SHA256:abc"]' },
      'dropstack:sshKeyFingerprints: "SHA256:abc" is not an SSH key fingerprint; use the MD5 form DigitalOcean shows, like 3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa',
    ],
    [{ "dropstack:stackfile": " " }, 'dropstack:stackfile: " " is not a file path'],
    [
      { "dropstack:dataVolumeId": "dropstack-prod-data" },
      'dropstack:dataVolumeId: "dropstack-prod-data" is not a DigitalOcean volume ID; use the ID `doctl compute volume list` shows, like 506f78a4-e098-11e5-ad9f-000f53306ae1, or leave it unset',
    ],
    [
      { "dropstack:stackVars": "[1]" },
      'dropstack:stackVars: "[1]" is not a map of names to values',
    ],
    [
      { "dropstack:stackVars": '{"1X":"a"}' },
      'dropstack:stackVars: "1X" is not a variable name; use letters, digits and _, not starting with a digit',
    ],
    [
      { "dropstack:stackVars": '{"X":{"a":1}}' },
      "dropstack:stackVars.X: is not a string, number or boolean",
    ],
    [
      { "dropstack:regoin": "ams3" },
      "dropstack:regoin: is not a dropstack setting; did you mean dropstack:region?",
    ],
    [{ "dropstack:colour": "blue" }, "dropstack:colour: is not a dropstack setting"],
  ])(
    "rejects %j with a message naming the key, the value and what is allowed",
    (values, expected) => {
      expect(messageOf(values)).toBe(`Invalid stack configuration:\n  - ${expected}`);
    },
  );

  test("lists every problem at once", () => {
    expect(messageOf({ "dropstack:region": "x", "dropstack:ipv6": "y" })).toBe(
      "Invalid stack configuration:\n" +
        '  - dropstack:region: "x" is not a DigitalOcean region slug; use one like nyc3, sfo3, ams3 or fra1\n' +
        '  - dropstack:ipv6: "y" is not a boolean; use true or false',
    );
  });

  test("asks for a DigitalOcean token when neither config nor environment has one", () => {
    expect(() => parseConfig({ get: () => undefined, isSecret: () => false }, {})).toThrow(
      "Invalid stack configuration:\n  - digitalocean:token: is not set; run `npx pulumi config set --secret digitalocean:token <token>` " +
        "with a token from the DigitalOcean control panel (API > Tokens), or export DIGITALOCEAN_TOKEN",
    );
    expect(() =>
      parseConfig({ get: () => undefined, isSecret: () => false }, { DIGITALOCEAN_TOKEN: "x" }),
    ).not.toThrow();
  });

  test("needs no DigitalOcean token for the local target", () => {
    const config = parseConfig(
      { get: (k) => (k === "dropstack:target" ? "local" : undefined), isSecret: () => false },
      {},
    );
    expect(config.target).toBe("local");
  });

  test("never prints a secret stackVars value in its errors", () => {
    const all: Record<string, string> = {
      "dropstack:stackVars": '"hunter2"',
      "digitalocean:token": "t",
    };
    expect(() =>
      parseConfig({ get: (k) => all[k], isSecret: (k) => k === "dropstack:stackVars" }),
    ).toThrow('dropstack:stackVars: "[secret]" is not a map of names to values');
  });

  test("warns when a secret-looking stackVar is stored in plain text", () => {
    expect(
      parse({ "dropstack:stackVars": '{"DB_PASSWORD":"hunter2","REGION":"eu"}' }).warnings,
    ).toEqual([
      "dropstack:stackVars.DB_PASSWORD looks like a secret but is stored in plain text in the stack's file; " +
        "set it again with `npx pulumi config set --secret --path stackVars.DB_PASSWORD <value>`",
    ]);
    expect(
      parse({ "dropstack:stackVars": '{"DB_PASSWORD":"hunter2"}' }, ["dropstack:stackVars"])
        .warnings,
    ).toEqual([]);
  });

  test("warns when SSH is opened to a network reserved for documentation examples", () => {
    const warning = (cidr: string) =>
      `dropstack:sshSourceCidrs: ${cidr} is an example network reserved for documentation, which no ` +
      "machine is in: SSH to the node, and with it the deploy, will time out. Replace it with " +
      "the networks you work from, such as your public address followed by /32";
    const cidrs = ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/48", "192.0.2.0/23"];
    expect(parse({ "dropstack:sshSourceCidrs": JSON.stringify(cidrs) }).warnings).toEqual([
      warning("203.0.113.0/24"),
      warning("198.51.100.7/32"),
      warning("2001:db8::/48"),
    ]);
    const real = ["81.2.69.160/27", "10.0.0.0/8", "0.0.0.0/0", "2a01:4f8::/32"];
    expect(parse({ "dropstack:sshSourceCidrs": JSON.stringify(real) }).warnings).toEqual([]);
    // The local target has no node, so nothing to reach over SSH.
    const local = { "dropstack:target": "local", "dropstack:sshSourceCidrs": '["203.0.113.0/24"]' };
    expect(parse(local).warnings).toEqual([]);
  });

  test("keeps stackVars secret when they were set with --secret", async () => {
    const config = parse({ "dropstack:stackVars": '{"PASSWORD":"hunter2","PORT":8080}' }, [
      "dropstack:stackVars",
    ]);
    const pulumi = await import("@pulumi/pulumi");
    expect(pulumi.Output.isInstance(config.stackVars.PASSWORD)).toBe(true);
    expect(await pulumi.isSecret(config.stackVars.PASSWORD as any)).toBe(true);
    expect(parse({ "dropstack:stackVars": '{"PORT":8080}' }).stackVars).toEqual({ PORT: "8080" });
  });
});

describe("HTTPS settings", () => {
  test("read tls, domain and manageDns", () => {
    expect(
      parse({
        "dropstack:tls": "internal",
        "dropstack:domain": "nb.example.com",
        "dropstack:manageDns": "true",
      }),
    ).toMatchObject({ tls: "internal", domain: "nb.example.com", manageDns: true });
  });

  test("name what is allowed for a bad tls mode", () => {
    expect(messageOf({ "dropstack:tls": "on" })).toBe(
      "Invalid stack configuration:\n" +
        '  - dropstack:tls: "on" is not a TLS mode; use auto (a trusted certificate), internal ' +
        "(the stack's own CA) or off (plain HTTP)",
    );
  });

  test("reject a URL or an IP address as the domain, saying which it is", () => {
    expect(messageOf({ "dropstack:domain": "https://nb.example.com/" })).toBe(
      "Invalid stack configuration:\n" +
        '  - dropstack:domain: "https://nb.example.com/" is not a domain name; use a lowercase name ' +
        "like notebooks.example.com, without scheme, port or path",
    );
    expect(messageOf({ "dropstack:domain": "203.0.113.7" })).toBe(
      "Invalid stack configuration:\n" +
        '  - dropstack:domain: "203.0.113.7" is an IP address, not a domain name; leave ' +
        "dropstack:domain unset and the node's own address gets the certificate",
    );
    expect(messageOf({ "dropstack:domain": "localhost" })).toContain("is not a domain name");
  });

  test("need a domain for manageDns", () => {
    expect(messageOf({ "dropstack:manageDns": "true" })).toBe(
      "Invalid stack configuration:\n" +
        "  - dropstack:manageDns: true needs dropstack:domain, the name whose A record points at " +
        "the node; set it, or set manageDns to false",
    );
  });

  test("warn when the password would cross the internet in clear text", () => {
    expect(parse({ "dropstack:tls": "off" }).warnings).toEqual([
      "dropstack:tls is off: the notebook password, its cookies and every notebook cross the " +
        "internet in clear text. Leave it unset (auto) for HTTPS with a trusted certificate",
    ]);
    expect(parse({ "dropstack:target": "local", "dropstack:tls": "off" }).warnings).toEqual([]);
  });

  test("warn that a domain means nothing on the local target", () => {
    expect(
      parse({ "dropstack:target": "local", "dropstack:domain": "nb.example.com" }).warnings,
    ).toEqual([
      "dropstack:domain and dropstack:manageDns are ignored with target local: the stack answers on localhost",
    ]);
  });
});

describe("cluster settings", () => {
  test("read nodes and each node's tags", () => {
    expect(
      parse({ "dropstack:nodes": "3", "dropstack:nodeTags": '{"1": ["db"], "3": ["gpu", "big"]}' }),
    ).toMatchObject({ nodes: 3, nodeTags: { "1": ["db"], "3": ["gpu", "big"] } });
  });

  test("name what is allowed for a bad node count, node number or tag", () => {
    expect(
      messageOf({
        "dropstack:nodes": "11",
        "dropstack:nodeTags": '{"0": ["a"], "2": "gpu", "3": ["a b"]}',
      }),
    ).toBe(
      "Invalid stack configuration:\n" +
        '  - dropstack:nodes: "11" is not allowed; use a whole number of nodes from 1 to 10\n' +
        '  - dropstack:nodeTags: "0" is not a node number; use 1 to 10 (1 is the first node, which holds the data)\n' +
        '  - dropstack:nodeTags: "\\"gpu\\"" is not a list of tags; use letters, digits, dots, dashes and underscores\n' +
        '  - dropstack:nodeTags: "[\\"a b\\"]" is not a list of tags; use letters, digits, dots, dashes and underscores',
    );
  });

  test("warn about tags for a node the cluster does not have", () => {
    expect(
      parse({ "dropstack:nodes": "2", "dropstack:nodeTags": '{"3": ["gpu"]}' }).warnings,
    ).toEqual([
      "dropstack:nodeTags: node 3 does not exist with dropstack:nodes 2; its tags are ignored",
    ]);
  });
});

describe("isCidr", () => {
  test.each(["0.0.0.0/0", "203.0.113.0/24", "::/0", "2001:db8::/32", "fe80::1/128"])(
    "accepts %s",
    (v) => {
      expect(isCidr(v)).toBe(true);
    },
  );
  test.each([
    "10.0.0.1",
    "10.0.0.0/33",
    "1.2.3/8",
    "2001:db8::/129",
    "gggg::/8",
    "1::2::3/64",
    "a/b/c",
  ])("rejects %s", (v) => {
    expect(isCidr(v)).toBe(false);
  });
});
