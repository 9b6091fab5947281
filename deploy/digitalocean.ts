// What the program asks DigitalOcean before anything is made (its regions, the droplet size, the
// domain's zone with manageDns), checked so that bad config fails before the first resource, in
// the order that blames the right key, with the provider's reason when the API cannot be asked.
import * as digitalocean from "@pulumi/digitalocean";
import type { DropstackConfig } from "../config";
import { candidateZones, recordFor } from "../proxy/dns";
import { runError } from "../runtime";
import { nearestAll } from "../stackfile/nearest";

/**
 * What the program asks DigitalOcean before anything is made: its regions, the size, and the
 * domain's zone with manageDns. Asked at once (each is a round trip to its API, and a preview or
 * up waits for them), then checked in the order that blames the right key: a mistyped region
 * before the size, which would otherwise be said not to be offered there.
 */
export async function askDigitalOcean(config: DropstackConfig) {
  const [regions, sizes, domains] = await Promise.allSettled([
    digitalocean.getRegions(),
    digitalocean.getSizes({ filters: [{ key: "slug", values: [config.size] }] }),
    config.manageDns
      ? digitalocean.getDomains({
          filters: [{ key: "name", values: candidateZones(config.domain) }],
        })
      : Promise.resolve(undefined),
  ]);
  checkRegion(config.region, answer("its regions", regions).regions);
  const size = dropletSize(config.size, config.region, answer("its droplet sizes", sizes).sizes);
  const zones = answer("the domains in your account", domains);
  const dnsRecord = zones && dnsZone(config.domain, zones.domains);
  return { size, dnsRecord };
}

/**
 * A lookup's answer, or a run error saying what could not be asked and why, in the provider's
 * words without its call chain: an unreachable API or a bad token otherwise ended the program
 * with a stack trace (measured on the real engine).
 */
function answer<T>(what: string, result: PromiseSettledResult<T>): T {
  if (result.status === "fulfilled") return result.value;
  throw runError(
    `Could not ask DigitalOcean for ${what}: ${apiProblem(result.reason)}. Check the API token ` +
      "(DIGITALOCEAN_TOKEN, or `npx pulumi config set --secret digitalocean:token`) and that this " +
      "machine reaches DigitalOcean's API",
  );
}

/** The provider's own reason from a failed invoke ("… 1 error occurred:\n\t* <reason>"). */
function apiProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const reasons = message
    .split("\n")
    .map((line) => /^\s*\* (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined);
  return reasons.length > 0 ? reasons.join("; ") : message.trim().split("\n")[0];
}

/**
 * Fails with the config key and the nearest slugs when DigitalOcean has no such region, before
 * the size check, which would blame the size for a mistyped region.
 */
function checkRegion(slug: string, regions: digitalocean.GetRegionsResult["regions"]): void {
  if (regions.some((r) => r.slug === slug)) return;
  // A region closed to new droplets (nyc2, ams2, sfo1) passes: an older stack's droplet may be
  // there. A new one is stopped by the size check, as no size lists such a region.
  const open = regions
    .filter((r) => r.available)
    .map((r) => r.slug)
    .sort();
  const near = nearestAll(slug, open);
  const guess =
    near.length === 0
      ? ""
      : `did you mean ${near.length > 1 ? `${near.slice(0, -1).join(", ")} or ` : ""}${near.at(-1)}? `;
  throw runError(
    `dropstack:region: ${JSON.stringify(slug)} is not a region DigitalOcean offers; ${guess}` +
      `${guess === "" ? "the" : "The"} regions that take new droplets: ${open.join(", ")}`,
  );
}

/** The size from DigitalOcean's own list; fails with the config key when it offers no such size. */
function dropletSize(
  slug: string,
  region: string,
  sizes: digitalocean.GetSizesResult["sizes"],
): digitalocean.GetSizesResult["sizes"][number] {
  const list =
    "list them with `doctl compute size list` or see the control panel's Create Droplet page";
  if (sizes.length === 0)
    throw runError(
      `dropstack:size: ${JSON.stringify(slug)} is not a size DigitalOcean offers; ${list}`,
    );
  const [size] = sizes;
  // Checked here, before anything is made, rather than by the droplet's create failing.
  if (!size.available)
    throw runError(
      `dropstack:size: ${JSON.stringify(slug)} cannot be ordered now (DigitalOcean lists it as unavailable); choose another size, ${list}`,
    );
  if (!size.regions.includes(region))
    throw runError(
      `dropstack:size: ${JSON.stringify(slug)} is not offered in ${region}; it is in ${[...size.regions].sort().join(", ")}. Choose another size or region`,
    );
  return size;
}

/** The DNS zone in the DigitalOcean account that holds `domain`; fails before anything is made. */
function dnsZone(
  domain: string,
  domains: digitalocean.GetDomainsResult["domains"],
): { zone: string; name: string; domain: string } {
  const record = recordFor(
    domain,
    domains.map((d) => d.name),
  );
  if (record === undefined) {
    throw runError(
      `dropstack:manageDns: no domain in your DigitalOcean account holds ${JSON.stringify(domain)}; add ` +
        `${candidateZones(domain).slice(-1)[0]} (or a zone under it) in the control panel's Networking > Domains ` +
        "and point its registrar at DigitalOcean's name servers, or set manageDns to false and make the A record yourself",
    );
  }
  return { ...record, domain };
}
