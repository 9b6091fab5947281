// What a `pulumi preview --refresh --json` says about the DigitalOcean resources: a refresh that
// reads back something other than the state (a shape the emulator answers that the provider does
// not round-trip) or any step but "same".
import { tail } from "../engine/pulumi-engine";

/**
 * The steps of a `preview --refresh --json` on DigitalOcean resources that change something: a
 * refresh step with a diff (what was read back differs from the state) or any step but "same".
 */
export function digitalOceanChanges(output: string): string[] {
  const start = output.indexOf("{");
  if (start < 0) return [`(no JSON in the preview's output: ${tail(output, 10)})`];
  let plan: any;
  try {
    plan = JSON.parse(output.slice(start));
  } catch {
    return [`(the preview's JSON did not parse: ${tail(output, 10)})`];
  }
  return (plan.steps ?? [])
    .filter((s: any) => /^digitalocean:/.test(s.newState?.type ?? s.oldState?.type ?? ""))
    .filter(
      (s: any) =>
        !["same", "refresh"].includes(s.op) ||
        (s.op === "refresh" &&
          ((s.diffReasons ?? []).length > 0 || Object.keys(s.detailedDiff ?? {}).length > 0)),
    )
    .map(
      (s: any) =>
        `${s.op} ${s.urn.split("::").pop()} ${JSON.stringify(s.diffReasons ?? [])} ${JSON.stringify(s.detailedDiff ?? {})}`,
    );
}
