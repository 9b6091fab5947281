// parseConfig on a stack's config values as Pulumi would hand them (a token always set), and
// the message it rejects them with: for the config tests.
import { parseConfig } from "../config";

export function parse(values: Record<string, string>, secretKeys: string[] = []) {
  const all: Record<string, string> = { "digitalocean:token": "t", ...values };
  return parseConfig({
    get: (k) => all[k],
    isSecret: (k) => secretKeys.includes(k),
    keys: () => Object.keys(all),
  });
}

/** The message parseConfig rejects `values` with; fails the test if it accepts them. */
export function messageOf(values: Record<string, string>, secretKeys: string[] = []): string {
  try {
    parse(values, secretKeys);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the config to be rejected");
}
