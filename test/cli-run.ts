// Runs `dropstack <argv>` in-process, as bin/dropstack.js does, capturing what it writes.
import { PassThrough } from "stream";
import { main } from "../cli/main";

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: "", err: "" };
  out.on("data", (c) => (chunks.out += c));
  err.on("data", (c) => (chunks.err += c));
  const code = await main(argv, out as any, err as any);
  return { code, ...chunks };
}
