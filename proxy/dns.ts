// Where `domain`'s A record goes in DigitalOcean's DNS: the longest zone in the account that
// contains it.

/** The zones that could hold `domain`: itself and each parent with at least two labels. */
export function candidateZones(domain: string): string[] {
  const labels = domain.split(".");
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join("."));
}

/** The record's zone and name (`@` for the zone's apex), or undefined when no zone holds it. */
export function recordFor(
  domain: string,
  zones: string[],
): { zone: string; name: string } | undefined {
  const zone = candidateZones(domain).find((z) => zones.includes(z));
  if (zone === undefined) return undefined;
  return { zone, name: zone === domain ? "@" : domain.slice(0, -(zone.length + 1)) };
}
