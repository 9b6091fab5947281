import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { splitSecrets } from "../stackfile";
import type { StackSpec } from "../stackfile";

/** A stack's secrets: the generated ones, and how to put every secret into a spec's text. */
export interface StackSecrets {
  /** The secrets generated for unset variables (…PASSWORD and the like), by variable name. */
  generated: Record<string, pulumi.Output<string>>;
  /** Replaces the secret placeholders in a spec string by the secret's value (then secret). */
  resolve: (text: string) => pulumi.Input<string>;
}

/**
 * Generates a password for each variable `spec` leaves for deploy time, and resolves the secret
 * placeholders of its text with those and `secretVars` (stackVars set with --secret).
 */
export function stackSecrets(
  name: string,
  spec: StackSpec,
  secretVars: Record<string, pulumi.Input<string>>,
  parent: pulumi.Resource,
  /** The same secrets under the stack's other shape (sameAcrossShapes): kept, not made anew. */
  aliases: pulumi.Alias[] = [],
): StackSecrets {
  const generated: Record<string, pulumi.Output<string>> = {};
  for (const variable of spec.generated) {
    const password = new random.RandomPassword(
      `${name}-${variable.toLowerCase().replace(/_/g, "-")}`,
      // Letters and digits only: the value lands in URLs (MONGO_URL) and shell-free env files.
      { length: 24, special: false },
      { parent, aliases },
    );
    generated[variable] = pulumi.secret(password.result);
  }
  const values: Record<string, pulumi.Input<string>> = { ...secretVars, ...generated };
  const resolve = (text: string): pulumi.Input<string> => {
    const parts = splitSecrets(text);
    if (parts.every((p) => typeof p === "string")) return text;
    return pulumi.secret(
      pulumi
        .all(parts.map((p) => (typeof p === "string" ? p : values[p.secret])))
        .apply((v) => v.join("")),
    );
  };
  return { generated, resolve };
}
