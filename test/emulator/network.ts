// VPCs, cloud firewalls, and DNS (domains and their records).
import { randomUUID } from "crypto";
import { isIPv4, isIPv6 } from "net";
import { regionInfo } from "./catalog";
import { ensureTags } from "./account";
import {
  ApiError,
  conflict,
  notFound,
  page,
  Router,
  stringList,
  timestamp,
  unprocessable,
} from "./http";
import {
  DnsRecordRecord,
  DomainRecord,
  EmulatorState,
  FirewallRecord,
  FirewallRule,
  VpcRecord,
} from "./state";

// VPCs.

/** The region's default VPC, made the first time something needs it, as DigitalOcean does. */
export function defaultVpc(state: EmulatorState, region: string): VpcRecord {
  const existing = [...state.vpcs.values()].find((v) => v.region === region && v.isDefault);
  if (existing) return existing;
  return addVpc(state, region, `default-${region}`, "", true);
}

function addVpc(
  state: EmulatorState,
  region: string,
  name: string,
  description: string,
  isDefault: boolean,
  ipRange?: string,
): VpcRecord {
  const n = state.nextVpcNumber();
  const vpc: VpcRecord = {
    id: randomUUID(),
    name,
    region,
    description,
    ipRange: ipRange ?? `10.${100 + (n % 150)}.${16 * Math.floor(n / 150)}.0/20`,
    isDefault,
    createdAt: timestamp(),
    lastHost: 1,
  };
  state.vpcs.set(vpc.id, vpc);
  return vpc;
}

/** The next private address in the VPC's range (hosts from .2 up). */
export function nextPrivateAddress(vpc: VpcRecord): string {
  const [base] = vpc.ipRange.split("/");
  const [a, b, c] = base.split(".").map(Number);
  const host = ++vpc.lastHost;
  return `${a}.${b}.${c + (host >> 8)}.${host & 255}`;
}

function vpcView(v: VpcRecord) {
  return {
    id: v.id,
    urn: `do:vpc:${v.id}`,
    name: v.name,
    description: v.description,
    region: v.region,
    ip_range: v.ipRange,
    created_at: v.createdAt,
    default: v.isDefault,
  };
}

const RESOURCE_NAME = /^[a-zA-Z0-9-.]{1,255}$/;

// Firewalls.

const TARGET_KEYS = ["addresses", "droplet_ids", "load_balancer_uids", "kubernetes_ids", "tags"];

function firewallRules(body: any, key: string, side: "sources" | "destinations"): FirewallRule[] {
  const rules = body?.[key];
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) throw unprocessable(`${key} must be an array`);
  return rules.map((rule: any) => {
    const protocol = rule?.protocol;
    if (!["tcp", "udp", "icmp"].includes(protocol))
      throw unprocessable(`${key}: protocol must be one of tcp, udp or icmp`);
    let ports: string = rule.ports ?? "";
    if (protocol === "icmp") {
      // DigitalOcean answers "0" for an ICMP rule's ports, whatever it was given.
      ports = "0";
    } else if (ports === "" || ports === undefined) {
      throw unprocessable(`${key}: ports is required for ${protocol} rules`);
    } else if (ports === "all") {
      ports = "0";
    } else if (!/^\d{1,5}(-\d{1,5})?$/.test(ports) && ports !== "0") {
      throw unprocessable(`${key}: ports ${JSON.stringify(ports)} is not a port or a range`);
    }
    const given = rule[side] ?? {};
    const targets: Record<string, unknown[]> = {};
    for (const k of TARGET_KEYS) {
      const list = given[k];
      if (Array.isArray(list) && list.length > 0) targets[k] = [...list];
    }
    if (Object.keys(targets).length === 0)
      throw unprocessable(`${key}: each rule needs at least one of its ${side}`);
    return { protocol, ports, targets };
  });
}

function ruleView(rule: FirewallRule, side: "sources" | "destinations") {
  return { protocol: rule.protocol, ports: rule.ports, [side]: rule.targets };
}

function firewallView(f: FirewallRecord, status = "succeeded") {
  return {
    id: f.id,
    name: f.name,
    status,
    inbound_rules: f.inbound.map((r) => ruleView(r, "sources")),
    outbound_rules: f.outbound.map((r) => ruleView(r, "destinations")),
    created_at: f.createdAt,
    droplet_ids: [...f.dropletIds],
    tags: [...f.tags],
    pending_changes: [],
  };
}

function dropletIds(state: EmulatorState, body: any): number[] {
  const ids = body?.droplet_ids ?? [];
  if (!Array.isArray(ids) || ids.some((id) => !Number.isInteger(id)))
    throw unprocessable("droplet_ids must be an array of integers");
  for (const id of ids)
    if (!state.droplets.has(id)) throw unprocessable(`droplet ${id} does not exist`);
  return [...new Set<number>(ids)];
}

/** A firewall as a create or update request describes it. */
function firewallFields(state: EmulatorState, body: any) {
  const name = body?.name;
  if (typeof name !== "string" || !RESOURCE_NAME.test(name))
    throw unprocessable("name must be 1 to 255 letters, digits, dashes or dots");
  const inbound = firewallRules(body, "inbound_rules", "sources");
  const outbound = firewallRules(body, "outbound_rules", "destinations");
  const tags = stringList(body, "tags");
  ensureTags(state, tags);
  return { name, inbound, outbound, dropletIds: dropletIds(state, body), tags };
}

function firewall(state: EmulatorState, id: string): FirewallRecord {
  const f = state.firewalls.get(id);
  if (f === undefined) throw notFound();
  return f;
}

// DNS.

const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const RECORD_TYPES = ["A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"];
/** Types whose data is a host name, which DigitalOcean keeps without the final dot. */
const HOST_DATA = ["CNAME", "MX", "NS", "SRV"];
const DEFAULT_TTL = 1800;

function recordView(r: DnsRecordRecord) {
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    data: r.data,
    priority: r.priority,
    port: r.port,
    ttl: r.ttl,
    weight: r.weight,
    flags: r.flags,
    tag: r.tag,
  };
}

/** A record's name relative to its zone ("@" for the apex), however it was written. */
function relativeName(name: string, domain: string): string {
  const n = name.replace(/\.$/, "").toLowerCase();
  if (n === "@" || n === domain) return "@";
  return n.endsWith(`.${domain}`) ? n.slice(0, -domain.length - 1) : n;
}

function numberOrNull(value: unknown, applies: boolean): number | null {
  if (!applies) return null;
  return typeof value === "number" ? value : 0;
}

/** Checks and fills a record from a create (or, over `current`, an update) request. */
function recordFields(body: any, domain: string, current?: DnsRecordRecord): DnsRecordRecord {
  const type = current?.type ?? body?.type;
  if (!RECORD_TYPES.includes(type))
    throw unprocessable(`type must be one of ${RECORD_TYPES.join(", ")}`);
  const rawName = body?.name ?? current?.name;
  if (typeof rawName !== "string" || rawName === "") throw unprocessable("Name can't be blank");
  const name = relativeName(rawName, domain);
  let data: unknown = body?.data ?? current?.data;
  if (typeof data !== "string" || data === "") throw unprocessable("Data can't be blank");
  if (type === "A" && !isIPv4(data))
    throw unprocessable("IP address did not match IPv4 format (e.g. 127.0.0.1).");
  if (type === "AAAA" && !isIPv6(data))
    throw unprocessable("IP address did not match IPv6 format (e.g. 2001:db8::1).");
  if (HOST_DATA.includes(type) && data !== "@") data = (data as string).replace(/\.$/, "");
  const ttl = body?.ttl ?? current?.ttl ?? DEFAULT_TTL;
  if (!Number.isInteger(ttl) || ttl < 30) throw unprocessable("TTL must be at least 30 seconds");
  const pick = (key: string) => (body?.[key] !== undefined ? body[key] : (current as any)?.[key]);
  return {
    id: current?.id ?? 0,
    domain,
    type,
    name,
    data: data as string,
    priority: numberOrNull(pick("priority"), type === "MX" || type === "SRV"),
    port: numberOrNull(pick("port"), type === "SRV"),
    ttl,
    weight: numberOrNull(pick("weight"), type === "SRV"),
    flags: numberOrNull(pick("flags"), type === "CAA"),
    tag: type === "CAA" ? String(pick("tag") ?? "") : null,
  };
}

function zoneFile(state: EmulatorState, d: DomainRecord): string {
  const lines = [`$ORIGIN ${d.name}.`, `$TTL ${d.ttl}`];
  for (const r of state.records.values()) {
    if (r.domain !== d.name) continue;
    const data = HOST_DATA.includes(r.type) && r.data !== "@" ? `${r.data}.` : r.data;
    const extra = r.priority !== null ? `${r.priority} ` : "";
    lines.push(`${r.name === "@" ? `${d.name}.` : r.name} ${r.ttl} IN ${r.type} ${extra}${data}`);
  }
  return lines.join("\n") + "\n";
}

function domainView(state: EmulatorState, d: DomainRecord) {
  return { name: d.name, ttl: d.ttl, zone_file: zoneFile(state, d) };
}

function domain(state: EmulatorState, name: string): DomainRecord {
  const d = state.domains.get(name.toLowerCase());
  if (d === undefined) throw notFound();
  return d;
}

function addRecord(
  state: EmulatorState,
  record: Omit<DnsRecordRecord, "id"> & { id?: number },
): DnsRecordRecord {
  const r = { ...record, id: state.nextRecordId() };
  state.records.set(r.id, r);
  return r;
}

/** Adds a domain with the records DigitalOcean makes for one: SOA, its name servers, an A. */
export function addDomain(state: EmulatorState, name: string, ipAddress?: string): DomainRecord {
  const d: DomainRecord = { name, ttl: DEFAULT_TTL };
  state.domains.set(name, d);
  const base = { domain: name, priority: null, port: null, weight: null, flags: null, tag: null };
  addRecord(state, { ...base, type: "SOA", name: "@", data: "1800", ttl: 1800 });
  for (const ns of ["ns1", "ns2", "ns3"])
    addRecord(state, { ...base, type: "NS", name: "@", data: `${ns}.digitalocean.com`, ttl: 1800 });
  if (ipAddress !== undefined)
    addRecord(state, { ...base, type: "A", name: "@", data: ipAddress, ttl: 1800 });
  return d;
}

export function networkRoutes(r: Router, state: EmulatorState): void {
  // VPCs.
  r.add("GET", "/v2/vpcs", (call) => page(call, "vpcs", [...state.vpcs.values()].map(vpcView)));
  r.add("POST", "/v2/vpcs", (call) => {
    const { name, region, description, ip_range: ipRange } = call.body ?? {};
    if (typeof name !== "string" || !RESOURCE_NAME.test(name))
      throw unprocessable("name must be 1 to 255 letters, digits, dashes or dots");
    if (typeof region !== "string" || !regionInfo(region)?.available)
      throw unprocessable("region is not a region that takes new resources");
    if ([...state.vpcs.values()].some((v) => v.name === name))
      throw conflict("A VPC with this name already exists");
    if (ipRange !== undefined && !/^10\.\d{1,3}\.\d{1,3}\.0\/(1[6-9]|2[0-8])$/.test(ipRange))
      throw unprocessable("ip_range must be a private /16 to /28 in 10.0.0.0/8");
    const isFirst = ![...state.vpcs.values()].some((v) => v.region === region);
    const vpc = addVpc(state, region, name, description ?? "", isFirst, ipRange);
    return { status: 201, body: { vpc: vpcView(vpc) } };
  });
  r.add("GET", "/v2/vpcs/:id", (call) => {
    const vpc = state.vpcs.get(call.params.id);
    if (vpc === undefined) throw notFound();
    return { status: 200, body: { vpc: vpcView(vpc) } };
  });
  const updateVpc = (call: { params: Record<string, string>; body: any }) => {
    const vpc = state.vpcs.get(call.params.id);
    if (vpc === undefined) throw notFound();
    if (typeof call.body?.name === "string") vpc.name = call.body.name;
    if (typeof call.body?.description === "string") vpc.description = call.body.description;
    if (call.body?.default === true) {
      for (const v of state.vpcs.values()) if (v.region === vpc.region) v.isDefault = false;
      vpc.isDefault = true;
    }
    return { status: 200, body: { vpc: vpcView(vpc) } };
  };
  r.add("PUT", "/v2/vpcs/:id", updateVpc);
  r.add("PATCH", "/v2/vpcs/:id", updateVpc);
  r.add("DELETE", "/v2/vpcs/:id", (call) => {
    const vpc = state.vpcs.get(call.params.id);
    if (vpc === undefined) throw notFound();
    if (vpc.isDefault)
      throw new ApiError(403, "forbidden", "Cannot delete the default VPC of a region");
    if ([...state.droplets.values()].some((d) => d.vpcUuid === vpc.id))
      throw conflict("VPC has members and cannot be deleted");
    state.vpcs.delete(vpc.id);
    return { status: 204 };
  });
  r.add("GET", "/v2/vpcs/:id/members", (call) => {
    const vpc = state.vpcs.get(call.params.id);
    if (vpc === undefined) throw notFound();
    const members = [...state.droplets.values()]
      .filter((d) => d.vpcUuid === vpc.id)
      .map((d) => ({ urn: `do:droplet:${d.id}`, name: d.name, created_at: d.createdAt }));
    return page(call, "members", members);
  });

  // Firewalls.
  r.add("GET", "/v2/firewalls", (call) =>
    page(
      call,
      "firewalls",
      [...state.firewalls.values()].map((f) => firewallView(f)),
    ),
  );
  r.add("POST", "/v2/firewalls", (call) => {
    const f: FirewallRecord = {
      id: randomUUID(),
      createdAt: timestamp(),
      ...firewallFields(state, call.body),
    };
    state.firewalls.set(f.id, f);
    return { status: 202, body: { firewall: firewallView(f, "waiting") } };
  });
  r.add("GET", "/v2/firewalls/:id", (call) => ({
    status: 200,
    body: { firewall: firewallView(firewall(state, call.params.id)) },
  }));
  r.add("PUT", "/v2/firewalls/:id", (call) => {
    const f = firewall(state, call.params.id);
    Object.assign(f, firewallFields(state, call.body));
    return { status: 200, body: { firewall: firewallView(f, "waiting") } };
  });
  r.add("DELETE", "/v2/firewalls/:id", (call) => {
    firewall(state, call.params.id);
    state.firewalls.delete(call.params.id);
    return { status: 204 };
  });
  r.add("POST", "/v2/firewalls/:id/droplets", (call) => {
    const f = firewall(state, call.params.id);
    for (const id of dropletIds(state, call.body))
      if (!f.dropletIds.includes(id)) f.dropletIds.push(id);
    return { status: 204 };
  });
  r.add("DELETE", "/v2/firewalls/:id/droplets", (call) => {
    const f = firewall(state, call.params.id);
    const gone = new Set(call.body?.droplet_ids ?? []);
    f.dropletIds = f.dropletIds.filter((id) => !gone.has(id));
    return { status: 204 };
  });
  r.add("POST", "/v2/firewalls/:id/tags", (call) => {
    const f = firewall(state, call.params.id);
    const tags = stringList(call.body, "tags");
    ensureTags(state, tags);
    for (const t of tags) if (!f.tags.includes(t)) f.tags.push(t);
    return { status: 204 };
  });
  r.add("DELETE", "/v2/firewalls/:id/tags", (call) => {
    const f = firewall(state, call.params.id);
    const gone = new Set(stringList(call.body, "tags"));
    f.tags = f.tags.filter((t) => !gone.has(t));
    return { status: 204 };
  });
  r.add("POST", "/v2/firewalls/:id/rules", (call) => {
    const f = firewall(state, call.params.id);
    f.inbound.push(...firewallRules(call.body, "inbound_rules", "sources"));
    f.outbound.push(...firewallRules(call.body, "outbound_rules", "destinations"));
    return { status: 204 };
  });
  r.add("DELETE", "/v2/firewalls/:id/rules", (call) => {
    const f = firewall(state, call.params.id);
    const same = (a: FirewallRule) => (b: FirewallRule) =>
      a.protocol === b.protocol &&
      a.ports === b.ports &&
      JSON.stringify(a.targets) === JSON.stringify(b.targets);
    const inbound = firewallRules(call.body, "inbound_rules", "sources");
    const outbound = firewallRules(call.body, "outbound_rules", "destinations");
    f.inbound = f.inbound.filter((rule) => !inbound.some(same(rule)));
    f.outbound = f.outbound.filter((rule) => !outbound.some(same(rule)));
    return { status: 204 };
  });
  r.add("GET", "/v2/droplets/:id/firewalls", (call) => {
    const id = Number(call.params.id);
    if (!state.droplets.has(id)) throw notFound();
    return page(
      call,
      "firewalls",
      [...state.firewalls.values()]
        .filter((f) => f.dropletIds.includes(id))
        .map((f) => firewallView(f)),
    );
  });

  // Domains and records.
  r.add("GET", "/v2/domains", (call) =>
    page(
      call,
      "domains",
      [...state.domains.values()].map((d) => domainView(state, d)),
    ),
  );
  r.add("POST", "/v2/domains", (call) => {
    const name = String(call.body?.name ?? "").toLowerCase();
    const ip = call.body?.ip_address;
    if (!DOMAIN_NAME.test(name)) throw unprocessable("Name is invalid");
    if (state.domains.has(name)) throw unprocessable("Name already exists");
    if (ip !== undefined && ip !== "" && !isIPv4(ip))
      throw unprocessable("IP address did not match IPv4 format (e.g. 127.0.0.1).");
    const d = addDomain(state, name, ip || undefined);
    return { status: 201, body: { domain: { name: d.name, ttl: d.ttl, zone_file: null } } };
  });
  r.add("GET", "/v2/domains/:name", (call) => ({
    status: 200,
    body: { domain: domainView(state, domain(state, call.params.name)) },
  }));
  r.add("DELETE", "/v2/domains/:name", (call) => {
    const d = domain(state, call.params.name);
    state.domains.delete(d.name);
    for (const [id, rec] of state.records) if (rec.domain === d.name) state.records.delete(id);
    return { status: 204 };
  });
  r.add("GET", "/v2/domains/:name/records", (call) => {
    const d = domain(state, call.params.name);
    const type = call.query.get("type");
    // The name filter is the record's full name (www.example.com), as godo passes it.
    const name = call.query.get("name");
    const wanted = name === null ? undefined : relativeName(name, d.name);
    const records = [...state.records.values()].filter(
      (rec) =>
        rec.domain === d.name &&
        (type === null || rec.type === type) &&
        (wanted === undefined || rec.name === wanted),
    );
    return page(call, "domain_records", records.map(recordView));
  });
  r.add("POST", "/v2/domains/:name/records", (call) => {
    const d = domain(state, call.params.name);
    const rec = addRecord(state, recordFields(call.body, d.name));
    return { status: 201, body: { domain_record: recordView(rec) } };
  });
  const record = (domainName: string, id: string) => {
    const d = domain(state, domainName);
    const rec = state.records.get(Number(id));
    if (rec === undefined || rec.domain !== d.name) throw notFound();
    return rec;
  };
  r.add("GET", "/v2/domains/:name/records/:id", (call) => ({
    status: 200,
    body: { domain_record: recordView(record(call.params.name, call.params.id)) },
  }));
  const updateRecord = (call: { params: Record<string, string>; body: any }) => {
    const rec = record(call.params.name, call.params.id);
    if (call.body?.type !== undefined && call.body.type !== rec.type)
      throw unprocessable("A record's type cannot be changed");
    Object.assign(rec, recordFields(call.body, rec.domain, rec));
    return { status: 200, body: { domain_record: recordView(rec) } };
  };
  r.add("PUT", "/v2/domains/:name/records/:id", updateRecord);
  r.add("PATCH", "/v2/domains/:name/records/:id", updateRecord);
  r.add("DELETE", "/v2/domains/:name/records/:id", (call) => {
    const rec = record(call.params.name, call.params.id);
    state.records.delete(rec.id);
    return { status: 204 };
  });
}
