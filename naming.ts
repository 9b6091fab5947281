/**
 * A DigitalOcean-safe name (droplet host name, volume, firewall) from the project and stack:
 * lowercase letters, digits and dashes, starting with a letter, at most 60 characters.
 */
export function resourcePrefix(project: string, stack: string): string {
  const slug = `${project}-${stack}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 60)
    .replace(/-+$/, "");
  return slug === "" ? "dropstack" : slug;
}

/** A DigitalOcean tag for the stack: letters, digits, `:`, `-` and `_`. */
export function tagFor(stack: string): string {
  return stack.replace(/[^A-Za-z0-9:_-]/g, "-").slice(0, 255);
}
