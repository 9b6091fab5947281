/** A problem with the command line or its inputs: printed as `dropstack: <message>`, exit status 2. */
export class CliError extends Error {}
