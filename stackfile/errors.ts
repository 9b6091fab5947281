import { Diagnostic, StackSpec } from "./types";

/** Renders a diagnostic as `file:line:column: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}`;
}

/** A Stackfile that cannot be deployed: every problem found, each with its position. */
export class StackfileError extends Error {
  constructor(
    public readonly diagnostics: Diagnostic[],
    public readonly warnings: Diagnostic[] = [],
    /** The services that could be read despite the errors, for checks beyond the parser. */
    public readonly partial?: StackSpec,
  ) {
    super(
      `${diagnostics.length === 1 ? "1 error" : `${diagnostics.length} errors`} in ${diagnostics[0]?.file}:\n` +
        diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n"),
    );
    this.name = "StackfileError";
  }
}
