import type { Command, OptionSpec } from './command.ts';

/** Where a summary starts in the help; a longer usage puts it on the next line. */
const SUMMARY_COLUMN = 29;

/** The help text, generated from the commands' own lines. */
export function helpText(commands: readonly Command[]): string {
  const lines = commands.flatMap((c) =>
    c.help.map(({ usage, summary }) => {
      const [first, ...rest] = summary.split('\n');
      const head = `  ${usage}`;
      const indent = ' '.repeat(SUMMARY_COLUMN);
      const start =
        head.length <= SUMMARY_COLUMN - 2 ? `${head.padEnd(SUMMARY_COLUMN)}${first}` : `${head}\n${indent}${first}`;
      return [start, ...rest.map((l) => `${indent}${l}`)].join('\n');
    }),
  );
  return `Usage: paperboy <command> [options]

Commands:
${lines.join('\n')}

Without DATABASE_URL, REDIS_URL or SMTP_URL, commands use the local servers of a running
\`paperboy start\` (recorded in .data/runtime.json) or start their own.

seed, digest run and ingest show their progress on stderr (a bar on a terminal, a line every few
seconds otherwise); their summary goes to stdout.`;
}

/** Every option any command takes, for the one parser of the command line (plus --help). */
export function allOptions(commands: readonly Command[]): Record<string, OptionSpec & { short?: string }> {
  const options: Record<string, OptionSpec & { short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const c of commands) {
    for (const [name, spec] of Object.entries(c.options)) {
      const known = options[name];
      if (known && known.type !== spec.type) throw new Error(`option --${name} is declared as two types`);
      options[name] = spec;
    }
  }
  return options;
}
