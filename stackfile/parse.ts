// Parses a Docker Cloud Stackfile into a StackSpec, one step each, as compose-go's loader does:
// the YAML with positions (document.ts), interpolation (variables.ts), the shape against the
// JSON Schema (shape.ts), every key's meaning through its handler (keys.ts), then the checks
// that span services (cross-service.ts) and the backup labels (backup-labels.ts). Pure: no Pulumi, no file system.
import { reportBackupLabels } from "./backup-labels";
import { checkShape, readValue } from "./shape";
import { reportGraphProblems, withRestartDefaults } from "./cross-service";
import { readDocument } from "./document";
import { StackfileError } from "./errors";
import { mapServices } from "./keys";
import { Diagnostic, StackSpec } from "./types";
import { interpolateValues } from "./variables";

export interface ParseOptions {
  /** Values for `${VAR}`: a string, or `{ secret: true }` for a value withheld until deploy. */
  vars?: Record<string, string | { secret: true }>;
  /** The node's tags (on a cluster, every node's), to check services' `tags` against. */
  nodeTags?: string[];
  /**
   * The stack runs on a Swarm cluster (dropstack:nodes above 1): deployment_strategy and tags
   * mean something, and a tag no node has is an error, since Swarm could never place the service.
   */
  cluster?: boolean;
}

export interface ParseResult {
  spec: StackSpec;
  warnings: Diagnostic[];
}

/** Parses and validates a Stackfile; throws StackfileError listing every problem. */
export function parseStackfile(
  text: string,
  file: string,
  options: ParseOptions = {},
): ParseResult {
  const source = readDocument(text, file);
  const { used, generated } = interpolateValues(source, options.vars ?? {});
  const value = readValue(source);
  const rejected = checkShape(source, value);
  const drafts = mapServices(source, value, rejected, options);
  const services = withRestartDefaults(source, drafts, value);
  reportGraphProblems(source, services, options.cluster);
  reportBackupLabels(source, services);
  const { errors, warnings } = source;
  const spec = { file, services, generated: [...generated], variables: [...used] };
  if (errors.length > 0) {
    errors.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new StackfileError(errors, warnings, spec);
  }
  return { spec, warnings };
}
