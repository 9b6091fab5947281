import * as crypto from "crypto";

/**
 * A DigitalOcean-safe name (droplet host name, volume, firewall) from the project and stack:
 * lowercase letters, digits and dashes, starting with a letter, at most 59 characters, so that
 * the data volume's `<prefix>-data` keeps within DigitalOcean's 64 for a volume name.
 */
export function resourcePrefix(project: string, stack: string): string {
  const slug = `${project}-${stack}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 59)
    .replace(/-+$/, "");
  return slug === "" ? "dropstack" : slug;
}

/** A DigitalOcean tag for the stack: letters, digits, `:`, `-` and `_`. */
export function tagFor(stack: string): string {
  return stack.replace(/[^A-Za-z0-9:_-]/g, "-").slice(0, 255);
}

/**
 * A Swarm object's name, `<prefix>-<suffix>`, within Swarm's limit (63 characters for a service,
 * 64 for a config or a secret; "name must be 63 characters or fewer"): a longer one keeps its
 * start and ends with a hash of the whole, so distinct names stay distinct.
 */
export function swarmName(prefix: string, suffix: string, max = 63): string {
  const full = `${prefix}-${suffix}`;
  if (full.length <= max) return full;
  const hash = crypto.createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${full.slice(0, max - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}
