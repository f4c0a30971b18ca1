import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './core/config.ts';
import { createLogger } from './core/logger.ts';
import { MissingRedisError } from './local/redis.ts';
import { openServices, startPaperboy } from './main.ts';

const HELP = `Usage: paperboy <command> [options]

Commands:
  start                      Run the service (roles from ROLES: api, worker, scheduler; default all)
  migrate                    Apply database migrations
  seed                       Load the seed papers from seeds/ (idempotent)
  digest run [--at <time>]   Plan and send every digest due at <time> (ISO 8601; default now),
                             as if the clock read that time; prints how many were sent

Without DATABASE_URL, REDIS_URL or SMTP_URL, commands use the local servers of a running
\`paperboy start\` (recorded in .data/runtime.json) or start their own.`;

async function main(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { at: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, sub] = positionals;
  if (values.help || !command || command === 'help') {
    console.log(HELP);
    return;
  }
  const config = loadConfig();
  // The CLI's own output is its result; logs go to stderr, quieter unless asked for.
  const log = createLogger(command === 'start' ? config.logLevel : (process.env.LOG_LEVEL ?? 'warn'));

  switch (command) {
    case 'start': {
      const running = await startPaperboy(config, log);
      onStop(async (signal) => {
        log.info({ signal }, 'shutting down');
        await running.stop();
        return 0;
      });
      console.log(
        `Paperboy is running${running.url ? ` at ${running.url}` : ''} (roles: ${[...config.roles].join(', ')})`,
      );
      if (running.infra.mailboxDir && running.url)
        console.log(`Mail it sends is caught locally: ${running.url}/mailbox`);
      return;
    }
    case 'migrate':
    case 'seed': {
      const { close } = await openServices(config, log);
      await close();
      console.log(command === 'migrate' ? 'Database is up to date.' : 'Seed papers are loaded.');
      return;
    }
    case 'digest': {
      if (sub !== 'run') throw new UsageError('expected `paperboy digest run [--at <time>]`');
      const at = values.at ? new Date(values.at) : new Date();
      if (Number.isNaN(at.getTime())) throw new UsageError(`--at: not a time: ${values.at}`);
      const { services, close } = await openServices(config, log);
      onStop(async () => {
        await close();
        return 130;
      });
      try {
        const r = await services.digests.runNow(at);
        console.log(
          `Digest run at ${at.toISOString()}: ${r.due} due, ${r.sent} sent, ${r.skipped} skipped (nothing new), ` +
            `${r.deferred} deferred, ${r.failed} failed, ${r.bounced} bounced`,
        );
      } finally {
        await close();
      }
      return;
    }
    default:
      throw new UsageError(`unknown command: ${command}\n\n${HELP}`);
  }
}

class UsageError extends Error {}

let stopHandler: ((signal: string) => Promise<number>) | undefined;

/** What SIGINT/SIGTERM do: stop this command's work and the local servers it started, then exit. */
function onStop(handler: (signal: string) => Promise<number>) {
  stopHandler = handler;
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    (stopHandler?.(signal) ?? Promise.resolve(130)).then(
      (code) => process.exit(code),
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
}

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof ConfigError || e instanceof UsageError || e instanceof MissingRedisError) {
    console.error(`paperboy: ${e.message}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
