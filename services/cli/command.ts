import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';

/** A command-line mistake: said in one line (`paperboy: …`), exit code 2. */
export class UsageError extends Error {}

/** An option a command takes: `--name <value>` or a `--name` flag. */
export type OptionSpec = { type: 'string' } | { type: 'boolean' };

type ValuesOf<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K] extends { type: 'string' }
    ? string
    : O[K] extends { type: 'boolean' }
      ? boolean
      : string | boolean;
};

export interface CommandContext<Values> {
  config: Config;
  log: Logger;
  /** The words after the command's name: `digest run` gets `['run']`, `ingest <path>` gets the path. */
  words: string[];
  options: Values;
}

/** One line of the help: how it is written, and what it does (lines broken as they are to be shown). */
export interface HelpLine {
  usage: string;
  summary: string;
}

/** A command of the `paperboy` CLI, as the registry (./commands/index.ts) lists it. */
export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  /** The first word on the command line. */
  name: string;
  /** Its lines in the help, one per form (`digest run`, `digest preview`). */
  help: HelpLine[];
  options: O;
  /** Logs at LOG_LEVEL as the service does; other commands log only warnings unless LOG_LEVEL says otherwise. */
  runsTheService?: boolean;
  run(ctx: CommandContext<ValuesOf<O>>): Promise<void>;
}

/** A command with its options' types checked against what its handler reads. */
export const defineCommand = <const O extends Record<string, OptionSpec>>(command: Command<O>): Command =>
  command as unknown as Command;

/** The error for a command written wrongly: which form was expected. */
export const expected = (...forms: HelpLine[]) =>
  new UsageError(`expected ${forms.map((f) => `\`paperboy ${f.usage}\``).join(' or ')}`);

/** A time given as an option (ISO 8601), or now. */
export function parseAt(value: string | undefined, option = '--at'): Date {
  const at = value ? new Date(value) : new Date();
  if (Number.isNaN(at.getTime())) throw new UsageError(`${option}: not a time: ${value}`);
  return at;
}
