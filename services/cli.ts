import { parseArgs } from 'node:util';
import { UsageError } from './cli/command.ts';
import { COMMANDS } from './cli/commands/index.ts';
import { allOptions, helpText } from './cli/help.ts';
import { handleEarlyStops } from './cli/lifecycle.ts';
import { ConfigError, loadConfig } from './core/config.ts';
import { AppError, StartupError } from './core/errors.ts';
import { createLogger } from './core/logger.ts';

/** The `paperboy` command: finds the command named in the registry (cli/commands/) and runs it. */
async function main(argv: string[]) {
  const help = helpText(COMMANDS);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: allOptions(COMMANDS) });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${help}`);
  }
  const { positionals, values } = parsed;
  const [name, ...words] = positionals;
  if (values.help || !name || name === 'help') {
    console.log(help);
    return;
  }
  const config = loadConfig();
  const command = COMMANDS.find((c) => c.name === name);
  // The CLI's own output is its result; logs go to stderr, quieter unless asked for.
  const log = createLogger(command?.runsTheService ? config.logLevel : (process.env.LOG_LEVEL ?? 'warn'));
  if (!command) throw new UsageError(`unknown command: ${name}\n\n${help}`);
  // No option is declared `multiple`, so each value is one string or flag.
  await command.run({ config, log, words, options: values as Record<string, string | boolean | undefined> });
}

handleEarlyStops(process.argv[2] === 'start');

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof ConfigError || e instanceof UsageError || e instanceof StartupError || e instanceof AppError) {
    console.error(`paperboy: ${e.message}`);
    process.exit(2);
  }
  const io = e as NodeJS.ErrnoException;
  if (io.path && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC'].includes(io.code ?? '')) {
    console.error(
      `paperboy: cannot write ${io.path} (${io.code}): set DATA_DIR to a folder this user can write, or free some space`,
    );
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
