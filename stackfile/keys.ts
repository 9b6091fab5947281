// Mapping a service, key by key, through a table: each key the schema allows has one handler
// that gives its value a meaning in the ServiceSpec, or rejects it, or warns it means nothing here.
import * as YAML from "yaml";
import type { Source } from "./document";
import { itemOf, keyOf } from "./document";
import { goDuration, parseDuration } from "./duration";
import type { ServiceValues } from "./shape";
import schema from "./stackfile.schema.json";
import { HealthcheckSpec, RestartPolicy, ServiceSpec } from "./types";
import { parseBytes, parsePort, parseVolume, words } from "./values";

/** Where a service's problems go: at a key, or at one item (or name) of a list (or map) key. */
export interface Reporter {
  error(key: string, message: string): void;
  warn(key: string, message: string): void;
  itemError(key: string, index: number | string, message: string): void;
  /** The node's tags, which a service's tags: should name. */
  nodeTags?: string[];
  /** On a Swarm cluster (see ParseOptions.cluster). */
  cluster?: boolean;
}

/** A Reporter for one key, so that a handler reports where its key is without naming it. */
export interface KeyReporter {
  error(message: string): void;
  warn(message: string): void;
  itemError(index: number | string, message: string): void;
  nodeTags: readonly string[];
  cluster: boolean;
}

/**
 * A service as its own keys describe it. An unset restart stays unset here: its default depends
 * on the other services (see defaultRestart), so it is filled in once they are all read.
 */
export type ServiceDraft = Omit<ServiceSpec, "restart"> & { restart?: RestartPolicy };

/** The keys the schema allows a service: the table below gives each a meaning, and no other. */
type ServiceKey = keyof typeof schema.definitions.service.properties;

/**
 * Reads one key the service sets: checks what the schema cannot (the schema has checked the
 * value's shape), and writes the key's part of the service.
 */
type KeyHandler = (value: unknown, service: ServiceDraft, report: KeyReporter) => void;

/** A value the schema has fully checked (a string, number, boolean or enum), taken as it is. */
function asIs<F extends Exclude<keyof ServiceDraft, "name">>(field: F): KeyHandler {
  return (value, service) => {
    service[field] = value as ServiceDraft[F];
  };
}

/** One string or a list of them, as a list (a number, as a port may be, as a string). */
function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

function stringList(field: "capAdd" | "capDrop" | "dns" | "dnsSearch" | "securityOpt"): KeyHandler {
  return (value, service) => {
    service[field] = list(value);
  };
}

/**
 * A list whose items each parse to a value, or to the problem with them (a string), reported at
 * the item so that every bad item is shown and the good ones are kept.
 */
function parsedItems<
  F extends "links" | "ports" | "expose" | "volumes" | "volumesFrom" | "devices" | "extraHosts",
>(field: F, parse: (text: string) => ServiceDraft[F][number] | string): KeyHandler {
  return (value, service, report) =>
    list(value).forEach((text, i) => {
      const item = parse(text);
      if (typeof item === "string") report.itemError(i, item);
      else (service[field] as ServiceDraft[F][number][]).push(item);
    });
}

/** A string command is split as a shell would: the container gets argv, not a shell line. */
function shellWords(field: "command" | "entrypoint"): KeyHandler {
  return (value, service, report) => {
    service[field] = words(value, report.error);
  };
}

/**
 * A map, or a list of NAME=value. A name with no value (`- NAME` in a list, `NAME:` in a map) took
 * its value from the deploying shell on Docker Cloud. `bareIsEmpty`: Docker and Compose take such
 * a label as one with an empty value; such a variable is more likely a value forgotten, so it is
 * an error, in either form alike.
 */
function keyValues(
  field: "environment" | "labels",
  { bareIsEmpty }: { bareIsEmpty: boolean },
): KeyHandler {
  return (value, service, report) => {
    const out: Record<string, string> = {};
    // `at`: the item of a list, or the name in a map; `fix`: the name with a value, in that form.
    const bare = (name: string, at: number | string, fix: string) => {
      if (bareIsEmpty) out[name] = "";
      else report.itemError(at, `"${name}" has no value; write ${fix} to take it from stackVars`);
    };
    if (!Array.isArray(value)) {
      for (const [name, x] of Object.entries(value as Record<string, unknown>)) {
        if (x === null) bare(name, name, `${name}: \${${name}}`);
        else out[name] = String(x);
      }
    } else {
      value.forEach((item: string, i) => {
        const eq = item.indexOf("=");
        if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
        else if (eq === 0) report.itemError(i, `"${item}" has no name before "="`);
        else bare(item, i, `${item}=\${${item}}`);
      });
    }
    service[field] = out;
  };
}

/** A size in bytes, as `docker run` reads `256m`; memswap_limit may also be -1, unlimited. */
function memorySize(field: "memLimit" | "memswapLimit", allowUnlimited: boolean): KeyHandler {
  return (value, service, report) => {
    const bytes = parseBytes(String(value), allowUnlimited);
    // At the value (item 0 of a key that is not a list), which is what is wrong.
    if (bytes === undefined)
      report.itemError(
        0,
        `"${value}" is not a memory size; write bytes or a number with b, k, m or g, like 256m`,
      );
    else service[field] = bytes;
  };
}

/** A key Docker Cloud took that dropstack cannot honour: the message says what to do instead. */
function rejected(message: string): KeyHandler {
  return (_value, _service, report) => report.error(message);
}

/** A key Docker Cloud took that means nothing here: accepted, with a warning when it is on. */
function noEffect(message: string, isOn: (value: unknown) => boolean = () => true): KeyHandler {
  return (value, _service, report) => {
    if (isOn(value)) report.warn(message);
  };
}

/**
 * What each service key means. Its type holds the table to exactly the schema's keys (which
 * SERVICE_KEYS lists and docs/stackfile.md describes), so the two cannot disagree on which keys
 * exist; a key outside them was reported before the schema ran, with the nearest known one.
 * Handlers run in this order, which is the order their problems come out in: warnings are not
 * sorted, and errors sorted by position keep it where they share one (keys a `<<` merge brings
 * in are reported at the service, or at the top of the file for an item).
 */
const SERVICE_KEY_HANDLERS: { readonly [K in ServiceKey]: KeyHandler } = {
  image: asIs("image"),
  build: (value, service) => {
    const build =
      typeof value === "string"
        ? { context: value }
        : (value as { context: string; dockerfile?: string; args?: Record<string, unknown> });
    service.build = {
      context: build.context,
      dockerfile: build.dockerfile,
      args: Object.fromEntries(Object.entries(build.args ?? {}).map(([k, v]) => [k, String(v)])),
    };
  },
  command: shellWords("command"),
  entrypoint: shellWords("entrypoint"),
  environment: keyValues("environment", { bareIsEmpty: false }),
  labels: keyValues("labels", { bareIsEmpty: true }),
  links: parsedItems("links", (link) => {
    const [target, alias, ...rest] = link.split(":");
    if (rest.length > 0 || target === "" || alias === "")
      return `"${link}" is not a link; write "service" or "service:alias"`;
    return { service: target, alias: alias ?? target };
  }),
  ports: parsedItems("ports", (p) => parsePort(p, true)),
  expose: parsedItems("expose", (p) => {
    const port = parsePort(p, false);
    return typeof port === "string" ? port : { port: port.container, protocol: port.protocol };
  }),
  volumes: parsedItems("volumes", parseVolume),
  volumes_from: parsedItems("volumesFrom", (v) => {
    const [from, mode, ...rest] = v.split(":");
    if (rest.length > 0 || from === "" || (mode !== undefined && mode !== "ro" && mode !== "rw"))
      return `"${v}" is not a volumes_from entry; write "service" or "service:ro"`;
    return { service: from, readOnly: mode === "ro" };
  }),
  devices: parsedItems("devices", (d) => {
    const [host, container, permissions, ...rest] = d.split(":");
    if (rest.length > 0 || !host.startsWith("/"))
      return `"${d}" is not a device; write /dev/host[:/dev/container[:rwm]]`;
    return { host, container: container ?? host, permissions: permissions ?? "rwm" };
  }),
  extra_hosts: parsedItems("extraHosts", (h) => {
    const colon = h.indexOf(":");
    if (colon <= 0) return `"${h}" is not an extra host; write host:ip`;
    return { host: h.slice(0, colon), ip: h.slice(colon + 1) };
  }),
  mem_limit: memorySize("memLimit", false),
  memswap_limit: memorySize("memswapLimit", true),
  restart: (value, service) => {
    service.restart = restartPolicy(value);
  },
  // Docker Cloud's older name for restart; when both are set, restart wins.
  autorestart: (value, service) => {
    service.restart ??= restartPolicy(value);
  },
  target_num_containers: asIs("replicas"),
  sequential_deployment: asIs("sequential"),
  privileged: asIs("privileged"),
  cap_add: stringList("capAdd"),
  cap_drop: stringList("capDrop"),
  net: asIs("networkMode"),
  pid: asIs("pidMode"),
  dns: stringList("dns"),
  dns_search: stringList("dnsSearch"),
  security_opt: stringList("securityOpt"),
  cgroup_parent: asIs("cgroupParent"),
  working_dir: asIs("workingDir"),
  user: asIs("user"),
  hostname: asIs("hostname"),
  domainname: asIs("domainname"),
  mac_address: asIs("macAddress"),
  cpu_shares: asIs("cpuShares"),
  cpuset: asIs("cpuset"),
  read_only: asIs("readOnly"),
  stdin_open: asIs("stdinOpen"),
  tty: asIs("tty"),
  healthcheck: (value, service, report) => {
    const h = value as {
      test: string | string[];
      interval?: string;
      timeout?: string;
      start_period?: string;
      retries?: number;
    };
    const test: string[] = Array.isArray(h.test) ? h.test : ["CMD-SHELL", h.test];
    // Checked, and spelt as Docker writes them back (see duration.ts).
    const timing = (key: "interval" | "timeout" | "start_period"): string | undefined => {
      const text = h[key];
      if (text === undefined) return undefined;
      const ns = parseDuration(String(text));
      if (ns === undefined) {
        report.error(
          `healthcheck ${key} "${text}" is not a duration; write a number with a unit, like 30s, 1m30s or 500ms`,
        );
        return undefined;
      }
      return goDuration(ns);
    };
    const healthcheck: HealthcheckSpec = {
      test,
      interval: timing("interval"),
      timeout: timing("timeout"),
      startPeriod: timing("start_period"),
      retries: h.retries,
    };
    service.healthcheck = healthcheck;
  },
  roles: rejected(
    "roles gave a container a Docker Cloud API token, with which images such as dockercloud/haproxy found their backends through Docker Cloud's API; that API is gone, so dropstack cannot honour it. Remove the key: with links to its backends, dockercloud/haproxy works in link mode from the link variables",
  ),
  external_links: rejected(
    "external_links is not supported (Docker Cloud did not support it either); link to a service in this Stackfile instead",
  ),
  env_file: rejected(
    "env_file is not supported (Docker Cloud did not support it either); use environment with ${VAR} and stackVars",
  ),
  autodestroy: noEffect(
    "autodestroy has no effect on dropstack: containers are kept until the stack changes",
    (value) => value !== "no" && value !== false,
  ),
  autoredeploy: noEffect(
    "autoredeploy has no effect on dropstack: `npx pulumi up` pulls an image only when its name or tag changes, so to deploy a new image give it a new tag (or pin it by digest, name@sha256:…) and run `npx pulumi up`",
    (value) => value === true,
  ),
  deployment_strategy: (value, service, report) => {
    service.deploymentStrategy = value as ServiceSpec["deploymentStrategy"];
    if (!report.cluster) {
      report.warn("deployment_strategy has no effect on one node: every container runs on it");
    }
  },
  tags: (value, service, report) => {
    service.tags = list(value);
    const missing = service.tags.filter((t) => !report.nodeTags.includes(t));
    if (missing.length === 0) return;
    if (report.cluster) {
      report.error(
        `no node of the cluster is tagged ${missing.join(", ")}, so Swarm could never place the ` +
          "service; tag a node with dropstack:nodeTags, or remove the tag",
      );
    } else {
      report.warn(
        `the node is not tagged ${missing.join(", ")}; dropstack deploys to its one node regardless`,
      );
    }
  },
};

/** Maps one service, whose shape the schema has checked, key by key through the table above. */
export function mapService(
  name: string,
  raw: Record<string, unknown>,
  report: Reporter,
): ServiceDraft {
  // Docker Cloud's defaults, for the keys the service does not set.
  const service: ServiceDraft = {
    name,
    environment: {},
    links: [],
    ports: [],
    expose: [],
    volumes: [],
    volumesFrom: [],
    replicas: 1,
    sequential: false,
    tags: [],
    capAdd: [],
    capDrop: [],
    devices: [],
    dns: [],
    dnsSearch: [],
    extraHosts: [],
    labels: {},
    securityOpt: [],
  };
  for (const [key, handle] of Object.entries(SERVICE_KEY_HANDLERS)) {
    const value = raw[key];
    if (value === undefined) continue;
    handle(value, service, {
      error: (message) => report.error(key, message),
      warn: (message) => report.warn(key, message),
      itemError: (index, message) => report.itemError(key, index, message),
      nodeTags: report.nodeTags ?? [],
      cluster: report.cluster ?? false,
    });
  }
  return service;
}

/** The policy a restart or autorestart value stands for. */
export function restartPolicy(value: unknown): RestartPolicy {
  switch (typeof value === "string" ? value.toLowerCase().replace("_", "-") : value) {
    case "no":
    case "off":
    case false:
      return "no";
    case "on-failure":
      return "on-failure";
    case "always":
      return "always";
    default:
      return "unless-stopped";
  }
}

/** Maps every service through the table, skipping the keys the schema rejected. */
export function mapServices(
  { root, error, warn, lineCounter }: Source,
  value: ServiceValues,
  rejected: Map<string, Set<string>>,
  options: { nodeTags?: string[]; cluster?: boolean },
): ServiceDraft[] {
  const drafts: ServiceDraft[] = [];
  const mapped = new Set<string>();
  for (const pair of root.items) {
    const name = String((pair.key as YAML.Scalar).value);
    // A duplicated service was reported above; its later value is the one read.
    if (mapped.has(name)) continue;
    // Only a map is a service; anything else was reported by the schema above.
    const raw: unknown = value[name];
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) continue;
    mapped.add(name);
    const node = pair.value as YAML.YAMLMap;
    const readable = Object.entries(raw).filter(([key]) => !rejected.get(name)?.has(key));
    const draft = mapService(name, Object.fromEntries(readable), {
      error: (key, message) => error(keyOf(node, key) ?? pair, message),
      warn: (key, message) => warn(keyOf(node, key) ?? pair, message),
      itemError: (key, index, message) => error(itemOf(node, key, index), message),
      nodeTags: options.nodeTags,
      cluster: options.cluster,
    });
    const buildKey = keyOf(node, "build");
    if (draft.build && buildKey?.range) {
      const { line, col } = lineCounter.linePos(buildKey.range[0]);
      draft.build.at = { line, column: col };
    }
    drafts.push(draft);
  }
  return drafts;
}
