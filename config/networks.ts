// Network addresses in settings: CIDR forms and the ranges reserved for documentation.
/**
 * True for a network inside the ranges reserved for documentation (RFC 5737's 192.0.2.0/24,
 * 198.51.100.0/24 and 203.0.113.0/24, RFC 3849's 2001:db8::/32): examples, never real sources.
 */
export function isDocumentationNetwork(cidr: string): boolean {
  const [address, bits] = cidr.split("/");
  if (address.includes(":")) return /^2001:0?db8:/i.test(address) && Number(bits) >= 32;
  return /^(192\.0\.2|198\.51\.100|203\.0\.113)\./.test(address) && Number(bits) >= 24;
}

/** True for an IPv4 or IPv6 network in CIDR form. */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split("/");
  if (rest.length > 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const prefix = Number(bits);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    return prefix <= 32 && address.split(".").every((octet) => Number(octet) <= 255);
  }
  return prefix <= 128 && isIpv6(address);
}

/** True for an IPv6 address (no prefix). */
export function isIpv6(address: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(address) || address.split("::").length > 2) return false;
  const groups = address.split(":").filter((g) => g !== "");
  if (groups.some((g) => g.length > 4)) return false;
  return address.includes("::") ? groups.length < 8 : groups.length === 8;
}
