// A cluster (dropstack:nodes above 1) under the mock engine: the VPC and nodes, the firewall,
// the swarm formed in order, the services as Swarm services with Docker Cloud's cluster keys
// mapped, the data service pinned, the proxy on the data node; and the bad paths.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { managerCount, nodeLabels } from "../components";
import { placedWithImageVolumes, serviceEndpointSpec } from "../components/swarm-service";
import { parseStackfile, swarmService } from "../stackfile";
import { FAKE_IP, ProgramRun, ROOT, runProgram } from "./harness";

const SERVICE = "docker:index/service:Service";
const COMMAND = "command:local:Command";
const DROPLET = "digitalocean:index/droplet:Droplet";
const VOLUME = "digitalocean:index/volume:Volume";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const FIREWALL = "digitalocean:index/firewall:Firewall";

function stackfile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropstack-cluster-"));
  fs.writeFileSync(path.join(dir, "stack.yml"), text);
  return path.join(dir, "stack.yml");
}

const CLUSTER_STACK = stackfile(
  [
    "web:",
    "  image: nginx:1.27",
    "  target_num_containers: 3",
    "  sequential_deployment: true",
    "  deployment_strategy: high_availability",
    "  links: [db:database]",
    '  ports: ["80:8080"]',
    "agent:",
    "  image: busybox:1.36",
    "  command: sleep 3600",
    "  deployment_strategy: every_node",
    "  restart: on-failure",
    "gpu:",
    "  image: python:3.12",
    "  command: python -m http.server",
    "  tags: [gpu]",
    "db:",
    "  image: mongo:8.0",
    '  expose: ["27017"]',
    "  volumes: [data:/data/db]",
  ].join("\n") + "\n",
);

function cluster(config: Record<string, string> = {}): Promise<ProgramRun> {
  return runProgram({
    stack: "team",
    config: {
      "dropstack:nodes": "3",
      "dropstack:stackfile": CLUSTER_STACK,
      "dropstack:nodeTags": JSON.stringify({ "2": ["gpu"] }),
      ...config,
    },
  });
}

describe("a three-node cluster", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await cluster();
  });

  test("puts three droplets in the region's VPC, the first the single node's own; only it keeps the data volume", () => {
    expect(
      run
        .all(DROPLET)
        .map((d) => [d.name, d.inputs.name])
        .sort(),
    ).toEqual([
      ["node-2-droplet", "dropstack-team-2"],
      ["node-3-droplet", "dropstack-team-3"],
      ["node-droplet", "dropstack-team"],
    ]);
    // No VPC of their own: vpc_uuid forces a new droplet, so joining one would replace the
    // first node (and its address) when a stack grows.
    expect(run.resources.filter((r) => r.type === "digitalocean:index/vpc:Vpc")).toEqual([]);
    for (const droplet of run.all(DROPLET)) expect(droplet.inputs.vpcUuid).toBeUndefined();
    expect(run.all(VOLUME).map((v) => v.inputs.name)).toEqual(["dropstack-team-data"]);
    // The others' user_data mounts nothing.
    expect(run.find(DROPLET, "node-2-droplet").inputs.userData).not.toContain(
      "dropstack-mount-data",
    );
    expect(run.find(DROPLET, "node-droplet").inputs.userData).toContain("dropstack-mount-data");
  });

  test("opens Swarm's ports to the cluster's droplets only; each node's own firewall keeps 22, 80, 443", () => {
    const own = run
      .all(FIREWALL)
      .filter((f) => f.name !== "swarm-firewall")
      .map((f) => f.name)
      .sort();
    expect(own).toEqual(["node-2-firewall", "node-3-firewall", "node-firewall"]);
    for (const name of own) {
      const rules = run
        .find(FIREWALL, name)
        .inputs.inboundRules.map(
          (r: any) => `${r.protocol}/${r.portRange} from ${r.sourceAddresses.join(",")}`,
        );
      expect(rules).toEqual([
        "tcp/22 from 0.0.0.0/0,::/0",
        "tcp/80 from 0.0.0.0/0,::/0",
        "tcp/443 from 0.0.0.0/0,::/0",
      ]);
    }
    // By the nodes' tag, which every node carries: no droplet ID, which a replaced node would
    // leave unknown while the engine plans (the provider then refuses the firewall's diff).
    const swarm = run.find(FIREWALL, "swarm-firewall");
    expect(swarm.inputs.name).toBe("dropstack-team-swarm");
    expect(swarm.inputs.tags).toEqual(["dropstack-team"]);
    expect(swarm.inputs.dropletIds).toBeUndefined();
    for (const droplet of run.all(DROPLET)) expect(droplet.inputs.tags).toContain("dropstack-team");
    expect(
      swarm.inputs.inboundRules.map((r: any) => [
        `${r.protocol}/${r.portRange}`,
        r.sourceTags,
        r.sourceDropletIds,
        r.sourceAddresses,
      ]),
    ).toEqual([
      ["tcp/2377", ["dropstack-team"], undefined, undefined],
      ["tcp/7946", ["dropstack-team"], undefined, undefined],
      ["udp/7946", ["dropstack-team"], undefined, undefined],
      ["udp/4789", ["dropstack-team"], undefined, undefined],
    ]);
  });

  test("forms the swarm: init on the first node, managers join one at a time, then the worker", () => {
    const init = run.find(COMMAND, "swarm-init");
    expect(init.inputs.environment).toMatchObject({
      DROPSTACK_HOST: FAKE_IP,
      DROPSTACK_ADDR: "10.10.0.2",
    });
    expect(init.dependsOn).toContain("node-ready");
    const join2 = run.find(COMMAND, "swarm-join-2");
    const join3 = run.find(COMMAND, "swarm-join-3");
    expect(join2.inputs.environment).toMatchObject({
      DROPSTACK_ROLE: "manager",
      DROPSTACK_HOST: "203.0.113.11",
      DROPSTACK_MANAGER_ADDR: "10.10.0.2",
      DROPSTACK_NODE: "dropstack-team-2",
    });
    expect(join2.dependsOn).toEqual(expect.arrayContaining(["swarm-init", "node-2-ready"]));
    expect(join3.inputs.environment.DROPSTACK_ROLE).toBe("manager");
    expect(join3.dependsOn).toContain("swarm-join-2");
    // The tokens reach the joins on stdin, and leaving is the join's delete.
    expect(join2.inputs.stdin).toBe(init.state!.stdout);
    expect(join2.inputs.delete).toMatch(/swarm\.sh leave$/);
    expect(run.find(COMMAND, "swarm-labels-2").inputs.environment.DROPSTACK_LABELS).toBe(
      "dropstack.node=2 dropstack.tag.gpu=true",
    );
    expect(run.find(COMMAND, "swarm-labels-1").inputs.environment.DROPSTACK_LABELS).toBe(
      "dropstack.node=1 dropstack.data=true",
    );
    // Services are made only once every node is in and labelled.
    expect(run.find("pulumi:providers:docker", "swarm-docker").dependsOn).toEqual(
      expect.arrayContaining(["swarm-labels-1", "swarm-labels-2", "swarm-labels-3"]),
    );
  });

  test("keeps the join tokens secret: they reach each join on stdin, as a secret", () => {
    expect(run.find(COMMAND, "swarm-join-2").secretInputs).toContain("stdin");
    expect(JSON.stringify(run.find(COMMAND, "swarm-join-2").inputs.environment)).not.toContain(
      "token",
    );
  });

  test("maps target_num_containers, sequential_deployment and links onto a Swarm service", () => {
    const web = run.find(SERVICE, "stack-web");
    expect(web.provider).toBe("swarm-docker");
    expect(web.inputs.name).toBe("dropstack-team-web");
    expect(web.inputs.mode).toEqual({ replicated: { replicas: 3 } });
    expect(web.inputs.updateConfig).toEqual({ parallelism: 1, order: "stop-first" });
    expect(web.inputs.taskSpec.networksAdvanceds[0].aliases).toEqual([
      "web",
      "web-1",
      "web-2",
      "web-3",
    ]);
    // The proxy publishes 80; the web service only exposes its port on the overlay network.
    // Said as an empty list: left out, the provider would keep ports published before. Its
    // names resolve to its tasks (dnsrr): no virtual IP, which needs the node's IPVS.
    expect(web.inputs.endpointSpec).toEqual({ mode: "dnsrr", ports: [] });
    expect(web.inputs.taskSpec.containerSpec.env).toMatchObject({
      DATABASE_PORT_27017_TCP_ADDR: "database",
    });
    expect(web.dependsOn).toContain("stack-db");
  });

  test("every_node is global mode, tags are placement constraints, restart is the condition", () => {
    const agent = run.find(SERVICE, "stack-agent");
    expect(agent.inputs.mode).toEqual({ global: true });
    expect(agent.inputs.taskSpec.restartPolicy).toEqual({
      condition: "on-failure",
      delay: "5s",
      maxAttempts: 0,
      window: "0s",
    });
    expect(agent.inputs.updateConfig.parallelism).toBe(0);
    expect(run.find(SERVICE, "stack-gpu").inputs.taskSpec.placement).toEqual({
      constraints: ["node.labels.dropstack.tag.gpu == true"],
    });
  });

  test("gives every Swarm service what the provider would otherwise get wrong on a second up", () => {
    const services = run.all(SERVICE);
    expect(services.map((s) => s.name).sort()).toEqual([
      "proxy-service",
      "stack-agent",
      "stack-db",
      "stack-gpu",
      "stack-web",
    ]);
    for (const service of services) {
      // The network by ID: the provider reads it back as one, and a name would replace the
      // service on every up.
      expect(service.inputs.taskSpec.networksAdvanceds).toEqual([
        expect.objectContaining({ id: "stack-network-id" }),
      ]);
      expect(service.inputs.taskSpec.networksAdvanceds[0].name).toBeUndefined();
      // Replaced old-first, since the new one has the same name; a change of mode replaces.
      expect(service.deleteBeforeReplace).toBe(true);
      expect(service.replaceOnChanges).toEqual(["mode"]);
      // Docker's defaults said outright: the provider sends 0 for what it is not given.
      expect(service.inputs.taskSpec.containerSpec.stopGracePeriod).toBe("10s");
      expect(service.inputs.taskSpec.restartPolicy).toMatchObject({ delay: "5s", window: "0s" });
    }
    // Said even when empty, so a constraint the Stackfile drops is taken off the service.
    expect(run.find(SERVICE, "stack-agent").inputs.taskSpec.placement).toEqual({ constraints: [] });
    // A pulled image by the digest the first node pulled, as Swarm would pin it on create.
    expect(run.find(SERVICE, "stack-db").inputs.taskSpec.containerSpec.image).toBe(
      run.find(IMAGE, "stack-image-mongo-8-0").state!.repoDigest,
    );
    expect(run.find(SERVICE, "stack-db").inputs.taskSpec.containerSpec.image).toMatch(
      /^mongo@sha256:[0-9a-f]{64}$/,
    );
  });

  test("pins the service with data to the data node, its volume on the data volume", () => {
    const db = run.find(SERVICE, "stack-db");
    expect(db.inputs.taskSpec.placement).toEqual({
      constraints: ["node.labels.dropstack.data == true"],
    });
    expect(db.inputs.taskSpec.containerSpec.mounts).toEqual([
      { type: "bind", source: "/mnt/data/team/db/data", target: "/data/db", readOnly: false },
    ]);
    expect(run.warnings).toContain(
      'service "db" keeps its data on the first node\'s data volume, so Swarm runs it on that node only: it does not move if that node fails',
    );
  });

  test("makes the folders the data service and the proxy bind-mount on the data node before either starts", () => {
    // Swarm, unlike docker run -v, makes no bind source: a missing one rejects every task.
    const dirs = run.find(COMMAND, "swarm-dirs-1");
    expect(dirs.inputs.create).toMatch(/swarm\.sh dirs$/);
    expect(dirs.inputs.stdin).toBe(
      "/mnt/data/team/db/data\n/mnt/data/team/.proxy/data\n/mnt/data/team/.proxy/config\n",
    );
    expect(dirs.inputs.environment).toMatchObject({ DROPSTACK_HOST: FAKE_IP });
    expect(dirs.dependsOn).toContain("node-ready");
    // Exactly the folders the services mount.
    const mounted = [
      ...run.find(SERVICE, "stack-db").inputs.taskSpec.containerSpec.mounts,
      ...run.find(SERVICE, "proxy-service").inputs.taskSpec.containerSpec.mounts,
    ].map((m: { source: string }) => `${m.source}\n`);
    expect(mounted.join("")).toBe(dirs.inputs.stdin);
    for (const service of run.all(SERVICE)) expect(service.dependsOn).toContain("swarm-dirs-1");
    // The other nodes hold no data and the Stackfile mounts no host path: nothing to make there.
    expect(run.all(COMMAND).filter((c) => c.name.startsWith("swarm-dirs-")).length).toBe(1);
  });

  test("runs the HTTPS proxy on the data node, publishing 80 and 443 there, not through the routing mesh", () => {
    const proxy = run.find(SERVICE, "proxy-service");
    expect(proxy.inputs.taskSpec.placement).toEqual({
      constraints: ["node.labels.dropstack.data == true"],
    });
    expect(proxy.inputs.endpointSpec).toEqual({
      mode: "dnsrr",
      ports: [
        { targetPort: 80, publishedPort: 80, protocol: "tcp", publishMode: "host" },
        { targetPort: 443, publishedPort: 443, protocol: "tcp", publishMode: "host" },
      ],
    });
    for (const service of run.all(SERVICE))
      expect([service.name, service.inputs.endpointSpec.mode]).toEqual([service.name, "dnsrr"]);
    expect(proxy.inputs.taskSpec.containerSpec.env.DROPSTACK_SITE).toBe(FAKE_IP);
    const config = run.find("docker:index/serviceConfig:ServiceConfig", "proxy-caddyfile");
    expect(Buffer.from(config.inputs.data, "base64").toString()).toContain(
      "reverse_proxy web-1:8080 web-2:8080 web-3:8080\n",
    );
    expect(run.outputs.url).toBe(`https://${FAKE_IP}/`);
  });

  // Found by the emulated cluster: the provider's delete of a service whose first process ignores
  // SIGTERM (it takes its whole stop grace period) failed, waiting no longer than that period.
  test("shuts each Swarm service's tasks down just before the provider deletes it", () => {
    const services = run.all(SERVICE).filter((s) => s.name.startsWith("stack-"));
    expect(services.length).toBe(4);
    for (const service of services) {
      const stop = run.find(COMMAND, `${service.name}-stop`);
      expect(stop.inputs.create).toBeUndefined();
      expect(stop.inputs.delete).toMatch(/^sh \S*scripts\/swarm\.sh stop$/);
      expect(stop.inputs.environment).toMatchObject({
        DROPSTACK_HOST: FAKE_IP,
        DROPSTACK_SERVICE: service.inputs.name,
      });
      // After the service, so deleted before it; made again with it, so run before a replacement's
      // delete too; and skipped, like the service, when the swarm itself goes.
      expect(stop.dependsOn).toContain(service.name);
      expect(stop.inputs.triggers).toEqual([`${service.name}-id`]);
      expect(stop.deletedWith).toBe("swarm-init");
      // Replaced with the first node, deleted first: while the old node still answers.
      expect([stop.replaceWith, stop.deleteBeforeReplace]).toEqual([["node-droplet"], true]);
    }
  });

  // Found by the emulated cluster: after the first node's replacement, the provider looked for
  // the old configs in the new swarm, did not find them, and the up failed.
  test("keeps the proxy's configs and secrets from Pulumi's deletes; swarm.sh prune removes the old ones once the proxy runs", () => {
    const kept = [
      ...run.all("docker:index/serviceConfig:ServiceConfig"),
      ...run.all("docker:index/secret:Secret"),
    ];
    expect(kept.map((r) => [r.name, r.retainOnDelete]).sort()).toEqual([["proxy-caddyfile", true]]);
    const prune = run.find(COMMAND, "proxy-prune");
    expect(prune.inputs.create).toMatch(/^sh \S*scripts\/swarm\.sh prune$/);
    expect(prune.inputs.environment).toMatchObject({
      DROPSTACK_HOST: FAKE_IP,
      DROPSTACK_PREFIX: "dropstack-team",
      DROPSTACK_KEEP: run.find("docker:index/serviceConfig:ServiceConfig", "proxy-caddyfile").inputs
        .name,
    });
    expect(prune.inputs.triggers).toEqual([prune.inputs.environment.DROPSTACK_KEEP]);
    expect(prune.dependsOn).toContain("proxy-service");
  });

  test("reports every node and what they cost together", () => {
    expect(run.outputs.nodes).toEqual([
      { name: "dropstack-team", ip: FAKE_IP, privateIp: "10.10.0.2", role: "manager", data: true },
      {
        name: "dropstack-team-2",
        ip: "203.0.113.11",
        privateIp: "10.10.0.3",
        role: "manager",
        data: false,
      },
      {
        name: "dropstack-team-3",
        ip: "203.0.113.12",
        privateIp: "10.10.0.4",
        role: "manager",
        data: false,
      },
    ]);
    expect(run.outputs.monthlyCost).toEqual({
      size: "s-2vcpu-2gb",
      nodes: 3,
      usdPerMonth: 54,
      vcpus: 6,
      memoryMiB: 6144,
      diskGiB: 180,
    });
  });
});

describe("growing a stack from one node", () => {
  test("keeps the first droplet, its volume and its firewall exactly as they were", async () => {
    // The default Stackfile, which both can run.
    const one = await runProgram({ stack: "team" });
    const three = await runProgram({ stack: "team", config: { "dropstack:nodes": "3" } });
    for (const [type, name] of [
      [DROPLET, "node-droplet"],
      [VOLUME, "node-data"],
      [FIREWALL, "node-firewall"],
    ]) {
      expect(three.find(type, name).inputs).toEqual(one.find(type, name).inputs);
    }
  });

  // Found by the emulated cluster: grown from one node, the swarm's network could not be made
  // beside the single node's of the same name; shrunk to one, the node's could not be made beside
  // the swarm's, and the provider would then have deleted the swarm's services through a node no
  // longer a manager.
  test("and back: each shape clears the other's from the first node before its own run there", async () => {
    const one = await runProgram({ stack: "team" });
    const three = await runProgram({ stack: "team", config: { "dropstack:nodes": "3" } });
    // Grown: swarm.sh init (which stops and removes the single node's containers and network)
    // comes before anything of the swarm's.
    const init = three.find(COMMAND, "swarm-init");
    expect(init.inputs.create).toMatch(/swarm\.sh init$/);
    expect(init.inputs.environment.DROPSTACK_PREFIX).toBe("dropstack-team");
    expect(three.find("pulumi:providers:docker", "swarm-docker").dependsOn).toEqual(
      expect.arrayContaining(["swarm-labels-1"]),
    );
    // Each Swarm object is deleted with the swarm, not through the node once it has left it.
    const onSwarm = three.resources.filter((r) => r.provider === "swarm-docker");
    expect(onSwarm.map((r) => r.type)).toEqual(
      expect.arrayContaining(["docker:index/network:Network", "docker:index/service:Service"]),
    );
    for (const r of onSwarm)
      expect({ [r.name]: r.deletedWith }).toEqual({ [r.name]: "swarm-init" });
    // A replaced first node: each service is deleted first through the old manager, where it is
    // (found by the emulated cluster: deleted later, through the new one, it was not found).
    const services = onSwarm.filter((r) => r.type === "docker:index/service:Service");
    expect(services.map((r) => r.name).sort()).toEqual([
      "proxy-service",
      "stack-datascience",
      "stack-mongo",
    ]);
    for (const r of services)
      expect({ [r.name]: r.replaceWith }).toEqual({ [r.name]: ["node-droplet"] });
    // Shrunk: swarm.sh disband on the node, after its readiness, before its network and containers.
    const disband = one.find(COMMAND, "swarm-disband");
    expect(disband.inputs.create).toMatch(/swarm\.sh disband$/);
    expect(disband.inputs.environment.DROPSTACK_PREFIX).toBe("dropstack-team");
    expect(disband.dependsOn).toContain("node-ready");
    // Through the node's Docker provider, which everything on the node is made through.
    expect(one.find("pulumi:providers:docker", "node-docker").dependsOn).toEqual(
      expect.arrayContaining(["node-ready", "swarm-disband"]),
    );
    expect(one.resources.filter((r) => r.provider === "node-docker").length).toBeGreaterThan(5);
    expect(three.resources.some((r) => r.name === "swarm-disband")).toBe(false);
    // The first node's built image is one resource in both shapes (an alias each way): not made
    // anew, so not built again; and so is the step that prunes its earlier builds (found by the
    // emulated cluster: the old shape's was left to delete after a grow).
    for (const [type, name] of [
      ["docker:index/remoteImage:RemoteImage", "stack-image-datascience"],
      [COMMAND, "stack-image-datascience-prune"],
    ]) {
      expect(one.find(type, name).aliasParents).toEqual([
        "urn:pulumi:team::dropstack::dropstack:index:SwarmStack::stack",
      ]);
      expect(three.find(type, name).aliasParents).toEqual([
        "urn:pulumi:team::dropstack::dropstack:index:Stack::stack",
      ]);
    }
    // So are the generated passwords (found by the emulated cluster: growing made new ones, which
    // Mongo's data, made with the old, would refuse) and, with tls internal, the stack's own CA.
    const password = "random:index/randomPassword:RandomPassword";
    for (const name of ["stack-password", "stack-mongo-password"]) {
      expect(one.find(password, name).aliasParents).toEqual([
        "urn:pulumi:team::dropstack::dropstack:index:SwarmStack::stack",
      ]);
      expect(three.find(password, name).aliasParents).toEqual([
        "urn:pulumi:team::dropstack::dropstack:index:Stack::stack",
      ]);
    }
    const internal = { "dropstack:tls": "internal" };
    const oneCa = await runProgram({ stack: "team", config: internal });
    const threeCa = await runProgram({
      stack: "team",
      config: { ...internal, "dropstack:nodes": "3" },
    });
    for (const [type, name] of [
      ["tls:index/privateKey:PrivateKey", "proxy-ca-key"],
      ["tls:index/selfSignedCert:SelfSignedCert", "proxy-ca"],
    ]) {
      expect(oneCa.find(type, name).aliasParents).toEqual([
        "urn:pulumi:team::dropstack::dropstack:index:SwarmProxy::proxy",
      ]);
      expect(threeCa.find(type, name).aliasParents).toEqual([
        "urn:pulumi:team::dropstack::dropstack:index:Proxy::proxy",
      ]);
    }
    // The CA's Swarm config and secret are kept from Pulumi's deletes and pruned, as the Caddyfile.
    const swarmFiles = [
      ...threeCa.all("docker:index/serviceConfig:ServiceConfig"),
      ...threeCa.all("docker:index/secret:Secret"),
    ];
    expect(swarmFiles.map((r) => [r.name, r.retainOnDelete]).sort()).toEqual([
      ["proxy-ca-cert", true],
      ["proxy-ca-key", true],
      ["proxy-caddyfile", true],
    ]);
    expect(threeCa.find(COMMAND, "proxy-prune").inputs.environment.DROPSTACK_KEEP).toBe(
      swarmFiles
        .map((r) => r.inputs.name)
        .sort()
        .join(" "),
    );
  });
});

describe("a service's endpoint on a cluster", () => {
  const services = parseStackfile(
    'web:\n  image: nginx:1.27\n  ports: ["8000:80", "9000/udp"]\nworker:\n  image: busybox:1.36\n',
    "stack.yml",
    { cluster: true },
  ).spec.services;
  const endpoint = (name: string) => {
    const service = services.find((s) => s.name === name)!;
    return serviceEndpointSpec(service, swarmService(service, services));
  };

  test("one that publishes ports keeps Swarm's routing mesh, which needs a virtual IP", () => {
    expect(endpoint("web")).toEqual({
      mode: "vip",
      ports: [
        { targetPort: 80, publishedPort: 8000, protocol: "tcp", publishMode: "ingress" },
        { targetPort: 9000, publishedPort: undefined, protocol: "udp", publishMode: "ingress" },
      ],
    });
  });

  test("one that publishes none resolves to its tasks' own addresses, said, so a port taken away switches it", () => {
    expect(endpoint("worker")).toEqual({ mode: "dnsrr", ports: [] });
  });
});

describe("the swarm's shape", () => {
  test("has one manager up to two nodes, three from three on", () => {
    expect([2, 3, 4, 10].map(managerCount)).toEqual([1, 3, 3, 3]);
  });

  test("labels the data node and each node's tags", () => {
    expect(nodeLabels(1, [])).toEqual(["dropstack.node=1", "dropstack.data=true"]);
    expect(nodeLabels(4, ["gpu", "big"])).toEqual([
      "dropstack.node=4",
      "dropstack.tag.gpu=true",
      "dropstack.tag.big=true",
    ]);
  });

  test("a worker joins with the worker token after init, not after the managers", async () => {
    const run = await cluster({ "dropstack:nodes": "2" });
    const join = run.find(COMMAND, "swarm-join-2");
    expect(join.inputs.environment.DROPSTACK_ROLE).toBe("worker");
    expect(join.dependsOn).toContain("swarm-init");
  });
});

describe("secrets on a cluster", () => {
  test("reach a Swarm service's args, entrypoint, healthcheck and labels as values, kept secret", async () => {
    const run = await cluster({
      "dropstack:nodes": "2",
      "dropstack:nodeTags": "{}",
      "dropstack:stackfile": stackfile(
        "cache:\n  image: redis:7\n  command: redis-server --requirepass ${REDIS_PASSWORD}\n" +
          "  entrypoint: [env, 'TOKEN=${API_TOKEN}', docker-entrypoint.sh]\n" +
          "  healthcheck:\n    test: redis-cli -a ${REDIS_PASSWORD} ping\n" +
          "    interval: 60s\n    timeout: 1500ms\n" +
          "  labels: {auth: '${API_TOKEN}'}\n",
      ),
    });
    const password = run.find("random:index/randomPassword:RandomPassword", "stack-redis-password")
      .state!.result;
    const token = run.find("random:index/randomPassword:RandomPassword", "stack-api-token").state!
      .result;
    const cache = run.find(SERVICE, "stack-cache");
    const spec = cache.inputs.taskSpec.containerSpec;
    expect(spec.args).toEqual(["redis-server", "--requirepass", password]);
    expect(spec.commands).toEqual(["env", `TOKEN=${token}`, "docker-entrypoint.sh"]);
    expect(spec.healthcheck.tests).toEqual(["CMD-SHELL", `redis-cli -a ${password} ping`]);
    // Spelt as the provider reads a service's timings back: "1m", not "60s" or "1m0s".
    expect(spec.healthcheck).toMatchObject({ interval: "1m", timeout: "1.5s" });
    expect(spec.labels).toEqual([{ label: "auth", value: token }]);
    expect(cache.secretInputs.size).toBeGreaterThan(0);
    expect(JSON.stringify(cache.inputs)).not.toContain("@@dropstack-secret");
  });
});

describe("volumes an image declares, on a cluster", () => {
  test("go on the data volume, their folders made there, and pin the service to the data node", async () => {
    const run = await runProgram({
      stack: "team",
      config: {
        "dropstack:nodes": "2",
        "dropstack:stackfile": stackfile(
          "db:\n  image: mysql:8.4\n  environment: ['MYSQL_ROOT_PASSWORD=${DB_PASSWORD}']\n" +
            "cache:\n  image: redis:7\n  volumes: ['/data']\n",
        ),
      },
      commandStdout: {
        "stack-volumes-db": '{"/var/lib/mysql":{}}',
        "stack-volumes-cache": '{"/data":{}}',
      },
    });
    const db = run.find(SERVICE, "stack-db");
    expect(db.inputs.taskSpec.containerSpec.mounts).toEqual([
      {
        type: "bind",
        source: "/mnt/data/team/db/_anonymous/var/lib/mysql",
        target: "/var/lib/mysql",
        readOnly: false,
      },
    ]);
    expect(db.inputs.taskSpec.placement.constraints).toEqual([
      "node.labels.dropstack.data == true",
    ]);
    expect(run.warnings).toContain(
      'service "db" keeps the volumes its image declares (/var/lib/mysql) on the first node\'s data volume, so Swarm runs it on that node only: it does not move if that node fails',
    );
    // redis's /data is the Stackfile's own: placed once, where the Stackfile puts it.
    expect(
      run
        .find(SERVICE, "stack-cache")
        .inputs.taskSpec.containerSpec.mounts.map((m: { target: string }) => m.target),
    ).toEqual(["/data"]);
    const dirs = run.find(COMMAND, "stack-volume-dirs");
    expect(dirs.inputs.stdin).toBe("/mnt/data/team/db/_anonymous/var/lib/mysql\n");
    expect(dirs.inputs.environment.DROPSTACK_HOST).toBe(FAKE_IP);
    expect(db.dependsOn).toContain("stack-volume-dirs");
  });
});

describe("names on a cluster", () => {
  test("a long stack name keeps within Swarm's limits: 63 characters a service, 64 a config", async () => {
    const run = await runProgram({
      stack: "research-group-notebooks-for-the-whole-department-x",
      config: {
        "dropstack:nodes": "3",
        "dropstack:stackfile": CLUSTER_STACK,
        "dropstack:nodeTags": JSON.stringify({ "2": ["gpu"] }),
      },
    });
    const names = run.all(SERVICE).map((s) => s.inputs.name as string);
    // Swarm refuses longer ones: "name must be 63 characters or fewer".
    for (const name of names) expect(name.length).toBeLessThanOrEqual(63);
    expect(new Set(names).size).toBe(names.length);
    // 62 characters: as it is. 64: its start and a hash of the whole.
    expect(run.find(SERVICE, "stack-web").inputs.name).toBe(
      "dropstack-research-group-notebooks-for-the-whole-department-web",
    );
    expect(run.find(SERVICE, "stack-agent").inputs.name).toMatch(
      /^dropstack-research-group-notebooks-for-the-whole-depar-[0-9a-f]{8}$/,
    );
    const config = run.find("docker:index/serviceConfig:ServiceConfig", "proxy-caddyfile");
    expect(config.inputs.name.length).toBeLessThanOrEqual(64);
    // The services output names the services as Swarm does.
    expect(run.outputs.services.agent.service).toBe(run.find(SERVICE, "stack-agent").inputs.name);
  });
});

describe("bind-mounted folders on a cluster", () => {
  test("a host path is made on every node where missing, since any node may run the service", async () => {
    const run = await cluster({
      "dropstack:nodes": "2",
      "dropstack:nodeTags": "{}",
      "dropstack:stackfile": stackfile(
        "app:\n  image: nginx:1.27\n  volumes:\n    - /srv/logs:/logs\n    - cache:/cache\n    - /tmp/x\n",
      ),
    });
    expect(run.find(COMMAND, "swarm-dirs-1").inputs.stdin).toBe(
      "/mnt/data/team/app/_anonymous/tmp/x\n/mnt/data/team/app/cache\n/srv/logs\n",
    );
    expect(run.find(COMMAND, "swarm-dirs-2").inputs).toMatchObject({
      stdin: "/srv/logs\n",
      environment: { DROPSTACK_HOST: "203.0.113.11" },
    });
    expect(run.find(COMMAND, "swarm-dirs-2").dependsOn).toContain("node-2-ready");
    expect(run.find(SERVICE, "stack-app").dependsOn).toEqual(
      expect.arrayContaining(["swarm-dirs-1", "swarm-dirs-2"]),
    );
  });
});

describe("built images on a cluster", () => {
  test("are built on every node, since no registry carries them", async () => {
    const run = await cluster({
      "dropstack:nodes": "2",
      "dropstack:nodeTags": "{}",
      "dropstack:stackfile": path.join(ROOT, "stacks", "datascience.yml"),
    });
    const builds = run.all(IMAGE).filter((i) => i.inputs.build);
    expect(builds.map((b) => [b.name, b.provider]).sort()).toEqual([
      ["stack-image-datascience", "node-docker"],
      ["stack-image-datascience-node-2", "node-2-docker"],
    ]);
    const notebook = run.find(SERVICE, "stack-datascience");
    expect(notebook.inputs.taskSpec.containerSpec.image).toBe(
      run.find(IMAGE, "stack-image-datascience").inputs.name,
    );
    expect(notebook.dependsOn).toEqual(
      expect.arrayContaining(["stack-image-datascience", "stack-image-datascience-node-2"]),
    );
    // Removed by pruneBuilds, never by the provider, which would reach a replaced droplet's
    // successor (see serviceImage).
    for (const build of builds) expect(build.inputs.keepLocally).toBe(true);
    const prunes = run.all(COMMAND).filter((c) => /^stack-image-.*-prune$/.test(c.name));
    expect(prunes.map((c) => c.name).sort()).toEqual([
      "stack-image-datascience-node-2-prune",
      "stack-image-datascience-prune",
    ]);
    for (const prune of prunes) {
      expect(prune.inputs.create.split(" ").slice(2).join(":")).toBe(builds[0].inputs.name);
      expect(prune.dependsOn).toContain("stack-datascience");
    }
    // Each over its own node's SSH.
    const sshOf = (command: string) => run.find(COMMAND, command).inputs.environment;
    expect(sshOf("stack-image-datascience-node-2-prune")).toEqual({
      DROPSTACK_HOST: sshOf("node-2-ready").DROPSTACK_HOST,
      DROPSTACK_SSH_OPTS: sshOf("node-2-ready").DROPSTACK_SSH_OPTS,
    });
    expect(sshOf("node-2-ready").DROPSTACK_SSH_OPTS).not.toBe(
      sshOf("node-ready").DROPSTACK_SSH_OPTS,
    );
  });
});

describe("what a cluster cannot run", () => {
  test("a Swarm-less key fails before anything is created, naming service and key", async () => {
    const file = stackfile(
      "app:\n  image: nginx:1.27\n  privileged: true\n  volumes_from: [data]\ndata:\n  image: tianon/true\n  volumes: [/x]\n",
    );
    const failure = runProgram({
      stack: "team",
      config: { "dropstack:nodes": "2", "dropstack:stackfile": file },
    });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      `${file} cannot run on a cluster (dropstack:nodes above 1):\n` +
        '  - service "app": volumes_from cannot run on a Swarm cluster: a Swarm service, as ' +
        "dropstack creates it, has no such option. Remove it, or deploy this Stackfile on one node (dropstack:nodes 1)\n" +
        '  - service "app": privileged cannot run on a Swarm cluster: a Swarm service, as ' +
        "dropstack creates it, has no such option. Remove it, or deploy this Stackfile on one node (dropstack:nodes 1)",
    );
  });

  test("a service with data and a tag the first node lacks is an error before anything is made", async () => {
    const failure = cluster({
      "dropstack:stackfile": stackfile(
        "db:\n  image: postgres:17\n  volumes: ['/var/lib/postgresql/data']\n  tags: [gpu]\n",
      ),
    });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      'service "db": its data is on the first node\'s data volume, so Swarm runs it on that node ' +
        "only, which is not tagged gpu: Swarm could never place it. Give node 1 the tag with " +
        "dropstack:nodeTags, or remove the tag",
    );
    // On the first node, the tag places it there.
    await expect(
      cluster({
        "dropstack:stackfile": stackfile(
          "db:\n  image: postgres:17\n  volumes: ['/var/lib/postgresql/data']\n  tags: [gpu]\n",
        ),
        "dropstack:nodeTags": JSON.stringify({ "1": ["gpu"] }),
      }),
    ).resolves.toBeDefined();
  });

  test("so is one whose image declares volumes, once the image is read on the node", async () => {
    // Found by the emulated cluster: its tasks waited, pending, with no error.
    const spec = parseStackfile("db:\n  image: mongo:8.0\n  tags: [gpu]\n", "stack.yml", {
      cluster: true,
      nodeTags: ["gpu"],
    }).spec;
    const [db] = spec.services;
    const plan = swarmService(db, spec.services);
    expect(() => placedWithImageVolumes(db, plan, ["/data/db"], ["dropstack"])).toThrow(
      'service "db": its image declares volumes (/data/db), which dropstack keeps on the first ' +
        "node's data volume, so Swarm runs it on that node only, which is not tagged gpu: Swarm " +
        "could never place it. Give node 1 the tag with dropstack:nodeTags, or remove the tag",
    );
    // Tagged there, it runs there; without declared volumes, where the tag is.
    expect(placedWithImageVolumes(db, plan, ["/data/db"], ["gpu"])).toEqual([
      "node.labels.dropstack.data == true",
      "node.labels.dropstack.tag.gpu == true",
    ]);
    expect(placedWithImageVolumes(db, plan, [], [])).toEqual([
      "node.labels.dropstack.tag.gpu == true",
    ]);
  });

  test("a tag no node carries is an error, since Swarm could never place the service", async () => {
    const failure = cluster({ "dropstack:nodeTags": "{}" });
    await expect(failure.catch((e) => e.resources)).resolves.toEqual([]);
    await expect(failure).rejects.toThrow(
      "no node of the cluster is tagged gpu, so Swarm could never place the service; tag a node " +
        "with dropstack:nodeTags, or remove the tag",
    );
  });

  test("the local target cannot be a cluster", async () => {
    await expect(
      runProgram({ config: { "dropstack:nodes": "2", "dropstack:target": "local" } }),
    ).rejects.toThrow(
      "dropstack:nodes: 2 needs target digitalocean: a cluster is several droplets, and the local target is this one machine",
    );
  });
});
