// The dropstack command line: each command's function, and how a refused command line is told.
import { CliError } from "./errors";
import { COMMAND_LINES, commandLineProblem, USAGE } from "./args";
import { validate } from "./validate";
import { compose } from "./compose";
import { cloudInit, proxy } from "./node";
import { backups, restore } from "./backups";

type Command = (
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
) => Promise<number>;

/** Each command's function. */
const COMMANDS: Record<string, Command> = {
  "cloud-init": cloudInit,
  validate,
  compose,
  proxy,
  backups,
  restore,
};

/** Runs one command; returns the exit status. Output goes to stdout, problems to stderr. */
export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && Object.hasOwn(COMMANDS, command))
      return await COMMANDS[command](rest, out, err);
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new CliError(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") && command in COMMAND_LINES) {
      err.write(
        `dropstack ${command}: ${commandLineProblem(e as Error, rest, COMMAND_LINES[command])}\n`,
      );
      return 2;
    }
    if (e instanceof CliError) {
      err.write(`dropstack: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}
