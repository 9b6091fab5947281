// What the emulated DigitalOcean offers: its regions, droplet sizes (with DigitalOcean's published
// prices) and public images. Static: an account cannot change them.

/** A region as GET /v2/regions lists it (godo.Region). */
export interface RegionInfo {
  slug: string;
  name: string;
  sizes: string[];
  available: boolean;
  features: string[];
}

/** A droplet size as GET /v2/sizes lists it (godo.Size). */
export interface SizeInfo {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  price_monthly: number;
  price_hourly: number;
  regions: string[];
  available: boolean;
  description: string;
  disk_info: { type: string; size: { amount: number; unit: string } }[];
}

/** A public image (godo.Image). */
export interface ImageInfo {
  id: number;
  name: string;
  distribution: string;
  slug: string;
  public: boolean;
  regions: string[];
  created_at: string;
  min_disk_size: number;
  type: string;
  size_gigabytes: number;
  description: string;
  tags: string[];
  status: string;
  error_message: string;
}

/** Regions that take new droplets, with DigitalOcean's names. */
const OPEN: [string, string][] = [
  ["nyc1", "New York 1"],
  ["nyc3", "New York 3"],
  ["sfo2", "San Francisco 2"],
  ["sfo3", "San Francisco 3"],
  ["ams3", "Amsterdam 3"],
  ["sgp1", "Singapore 1"],
  ["lon1", "London 1"],
  ["fra1", "Frankfurt 1"],
  ["tor1", "Toronto 1"],
  ["blr1", "Bangalore 1"],
  ["syd1", "Sydney 1"],
  ["atl1", "Atlanta 1"],
];

/** Regions closed to new droplets: listed, unavailable, with no sizes. */
const CLOSED: [string, string][] = [
  ["nyc2", "New York 2"],
  ["ams2", "Amsterdam 2"],
  ["sfo1", "San Francisco 1"],
];

const OPEN_SLUGS = OPEN.map(([slug]) => slug);

const FEATURES = [
  "backups",
  "ipv6",
  "metadata",
  "install_agent",
  "storage",
  "image_transfer",
  "server_id",
  "management_networking",
];

function size(
  slug: string,
  vcpus: number,
  memoryMiB: number,
  disk: number,
  transfer: number,
  monthly: number,
  hourly: number,
  description: string,
  regions: string[] = OPEN_SLUGS,
  available = true,
): SizeInfo {
  return {
    slug,
    memory: memoryMiB,
    vcpus,
    disk,
    transfer,
    price_monthly: monthly,
    price_hourly: hourly,
    regions,
    available,
    description,
    disk_info: [{ type: "local", size: { amount: disk, unit: "gib" } }],
  };
}

/**
 * Droplet sizes at DigitalOcean's published prices (USD; Basic plans since the July 2022 price
 * change): s-1vcpu-1gb $6, s-1vcpu-2gb $12, s-2vcpu-2gb $18, s-2vcpu-4gb $24, s-4vcpu-8gb $48,
 * s-8vcpu-16gb $96. Two more to try the size checks with: one offered in a few regions only and
 * one no longer sold.
 */
export const SIZES: SizeInfo[] = [
  size("s-1vcpu-512mb-10gb", 1, 512, 10, 0.5, 4, 0.00595, "Basic", [
    "nyc1",
    "sfo3",
    "ams3",
    "fra1",
    "sgp1",
    "lon1",
    "tor1",
    "blr1",
    "syd1",
  ]),
  size("s-1vcpu-1gb", 1, 1024, 25, 1, 6, 0.00893, "Basic"),
  size("s-1vcpu-2gb", 1, 2048, 50, 2, 12, 0.01786, "Basic"),
  size("s-2vcpu-2gb", 2, 2048, 60, 3, 18, 0.02679, "Basic"),
  size("s-2vcpu-4gb", 2, 4096, 80, 4, 24, 0.03571, "Basic"),
  size("s-4vcpu-8gb", 4, 8192, 160, 5, 48, 0.07143, "Basic"),
  size("s-8vcpu-16gb", 8, 16384, 320, 6, 96, 0.14286, "Basic"),
  size("g-2vcpu-8gb", 2, 8192, 25, 4, 63, 0.09375, "General Purpose", ["nyc3", "fra1"]),
  size("s-1vcpu-3gb", 1, 3072, 60, 3, 15, 0.02232, "Basic", OPEN_SLUGS, false),
];

export const REGIONS: RegionInfo[] = [
  ...OPEN.map(([slug, name]) => ({
    slug,
    name,
    sizes: SIZES.filter((s) => s.available && s.regions.includes(slug)).map((s) => s.slug),
    available: true,
    features: FEATURES,
  })),
  ...CLOSED.map(([slug, name]) => ({
    slug,
    name,
    sizes: [],
    available: false,
    features: FEATURES.filter((f) => f !== "install_agent"),
  })),
];

function image(
  id: number,
  slug: string,
  distribution: string,
  name: string,
  minDisk: number,
  gigabytes: number,
): ImageInfo {
  return {
    id,
    name,
    distribution,
    slug,
    public: true,
    regions: OPEN_SLUGS,
    created_at: "2024-04-24T14:06:41Z",
    min_disk_size: minDisk,
    type: "base",
    size_gigabytes: gigabytes,
    description: `${distribution} ${name}`,
    tags: [],
    status: "available",
    error_message: "",
  };
}

export const IMAGES: ImageInfo[] = [
  image(155969211, "ubuntu-24-04-x64", "Ubuntu", "24.04 (LTS) x64", 7, 2.52),
  image(129211873, "ubuntu-22-04-x64", "Ubuntu", "22.04 (LTS) x64", 7, 2.36),
  image(150244287, "debian-12-x64", "Debian", "12 x64", 7, 0.97),
];

export function regionInfo(slug: string): RegionInfo | undefined {
  return REGIONS.find((r) => r.slug === slug);
}

export function sizeInfo(slug: string): SizeInfo | undefined {
  return SIZES.find((s) => s.slug === slug);
}

/** An image by slug or numeric ID, as the droplet create's `image` may name it. */
export function imageInfo(slugOrId: string | number): ImageInfo | undefined {
  return IMAGES.find((i) => i.slug === slugOrId || String(i.id) === String(slugOrId));
}
