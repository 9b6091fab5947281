// The pass across services, once each is mapped: restart defaults (a data-only container keeps
// Docker Cloud's "no"; a one-shot task left to restart is warned of) and the graph's problems
// (links, volumes_from, depends_on, port clashes), each reported at its key.
import * as YAML from "yaml";
import type { Source } from "./document";
import { itemOf, keyOf } from "./document";
import { checkGraph } from "./graph";
import type { ServiceDraft } from "./keys";
import type { ServiceValues } from "./shape";
import { RestartPolicy, ServiceSpec } from "./types";

/** Whether a service sets its restart policy (with restart, or Tutum's autorestart). */
export function setsRestart(raw: Record<string, unknown>): boolean {
  return raw.restart !== undefined || raw.autorestart !== undefined;
}

/**
 * An unset restart: Docker Cloud's default was "no", but a rebooted node should bring the stack
 * back, so long-running services get `unless-stopped`. A data-only container (a volumes_from
 * source that publishes and exposes nothing, like tianon/true) exits at once and would loop, so
 * it keeps Docker Cloud's "no".
 */
export function defaultRestart(service: ServiceDraft, services: ServiceDraft[]): RestartPolicy {
  const dataOnly =
    service.ports.length === 0 &&
    service.expose.length === 0 &&
    services.some((s) => s.volumesFrom.some((v) => v.service === service.name));
  return dataOnly ? "no" : "unless-stopped";
}

// Commands that do their work and exit, and images that exit at once without a command.
const ONE_SHOT_COMMANDS = new Set([
  "true",
  "chown",
  "chmod",
  "chgrp",
  "cp",
  "mv",
  "mkdir",
  "rm",
  "ln",
  "touch",
  "echo",
  "tar",
]);
const ONE_SHOT_IMAGES = /^(tianon\/true|busybox|alpine|hello-world)(:[^/]*)?$/;

/**
 * Why a service that listens on nothing looks like a one-shot (its command, or an image that
 * exits at once without one), or undefined: the unset-restart rule cannot tell it from a worker.
 */
export function oneShotReason(service: ServiceSpec): string | undefined {
  if (service.ports.length > 0 || service.expose.length > 0) return undefined;
  let words = [...(service.entrypoint ?? []), ...(service.command ?? [])];
  // `sh -c "chown -R …"`: the script's first word.
  if (/^(\/bin\/)?(ba)?sh$/.test(words[0] ?? "") && words[1] === "-c" && words[2] !== undefined)
    words = words[2].trim().split(/\s+/);
  const program = words[0]?.split("/").pop();
  if (program !== undefined && ONE_SHOT_COMMANDS.has(program)) return `command: ${words.join(" ")}`;
  if (
    words.length === 0 &&
    !service.stdinOpen &&
    !service.tty &&
    ONE_SHOT_IMAGES.test(service.image ?? "")
  )
    return `image ${service.image} with no command`;
  return undefined;
}

/** Each service with its restart policy, defaulted; warns of one-shot tasks left to restart. */
export function withRestartDefaults(
  { root, warn }: Source,
  drafts: ServiceDraft[],
  value: ServiceValues,
): ServiceSpec[] {
  const services: ServiceSpec[] = [];
  for (const draft of drafts) {
    const service = { ...draft, restart: draft.restart ?? defaultRestart(draft, drafts) };
    services.push(service);
    // A restart the service sets is what it asks for, even for a one-shot (or, rejected above,
    // not what it asks for either).
    if (setsRestart(value[draft.name])) continue;
    const oneShot = service.restart === "unless-stopped" ? oneShotReason(service) : undefined;
    if (oneShot !== undefined) {
      warn(
        root.items.find((p) => String((p.key as YAML.Scalar).value) === service.name),
        `service "${service.name}" looks like a task that runs once (${oneShot}) and sets no ` +
          'restart: dropstack restarts it whenever it exits, over and over; set restart: "no" ' +
          "for a task that runs once, or on-failure for one to retry until it succeeds",
      );
    }
  }
  return services;
}

/** Links, volumes_from, depends_on and ports across services, reported at the key. */
export function reportGraphProblems(
  { root, error }: Source,
  services: ServiceSpec[],
  cluster: boolean | undefined,
): void {
  const names = new Set(root.items.map((p) => String((p.key as YAML.Scalar).value)));
  for (const problem of checkGraph(services, names, cluster)) {
    const servicePair = root.items.find((p) => (p.key as YAML.Scalar).value === problem.service)!;
    const serviceNode = servicePair.value as YAML.YAMLMap;
    const node =
      problem.index === undefined
        ? keyOf(serviceNode, problem.key)
        : itemOf(serviceNode, problem.key, problem.index);
    error(node ?? servicePair, problem.message);
  }
}
