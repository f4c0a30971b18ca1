import { parseArgs } from 'node:util';
import { createProgress, type Progress, type ProgressUpdate } from './cli/progress.ts';
import type { Services } from './compose.ts';
import { type Config, ConfigError, loadConfig } from './core/config.ts';
import { AppError, StartupError } from './core/errors.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { openServices, type PrepareProgress, startPaperboy } from './main.ts';
import { SourceUnavailable } from './papers/fetch.ts';
import type { IngestReport } from './papers/ingest.ts';
import { SOURCE_NAMES, type SourceName } from './papers/sources/index.ts';
import { readiness, relayRefusal } from './readiness.ts';
import type { SubscriberLookup } from './subscribers/manage.ts';
import { SUPPRESSION_REASONS, type SuppressionReason } from './subscribers/suppressions.ts';

const HELP = `Usage: paperboy <command> [options]

Commands:
  start                      Run the service (roles from ROLES: api, worker, scheduler; default all)
  check                      Check that PostgreSQL, Redis and the SMTP server answer (exit 1 if not)
  migrate                    Apply database migrations
  seed                       Load the seed papers from seeds/ (idempotent)
  digest run [--at <time>]   Plan and send every digest due at <time> (ISO 8601; default now),
                             as if the clock read that time; prints how many were sent
  digest preview --email <address> [--at <time>] [--html]
                             Print the digest that subscriber would get (text, or its HTML);
                             records and sends nothing
  ingest <path|url> --source <seed|hf|arxiv>
                             Read one paper source by hand; prints new, updated, unchanged, skipped
  rank --email <address> [--at <time>]
                             Show what that subscriber would get next and why; changes nothing
  subscriber show|export|erase --email <address>
                             Look a subscriber up, print everything stored about them (JSON),
                             or erase them (a hashed suppression stays)
  suppressions list [--reason bounced|complaint|erased] [--since <time>]
                             The addresses Paperboy will not mail, newest first, and what caused each
  suppressions lift --email <address> | --reason <reason> [--since <time>]
                             Mail them again (a bounced subscriber becomes active again): for
                             addresses a relay's mistake suppressed

Without DATABASE_URL, REDIS_URL or SMTP_URL, commands use the local servers of a running
\`paperboy start\` (recorded in .data/runtime.json) or start their own.

seed, digest run and ingest show their progress on stderr (a bar on a terminal, a line every few
seconds otherwise); their summary goes to stdout.`;

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        at: { type: 'string' },
        source: { type: 'string' },
        email: { type: 'string' },
        html: { type: 'boolean' },
        reason: { type: 'string' },
        since: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${HELP}`);
  }
}

async function main(argv: string[]) {
  const { positionals, values } = parseCommandLine(argv);
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
      onStop(async (reason) => {
        log.info({ reason }, 'shutting down');
        // Workers get SHUTDOWN_TIMEOUT_SECONDS for sends in flight; whatever else hangs (a
        // connection to a server that vanished) gets a few seconds more, then the process exits:
        // deliveries left claimed are taken again after their lease.
        const bound = (config.shutdownTimeoutSeconds + 5) * 1000;
        const timedOut = new Promise<void>((resolve) =>
          setTimeout(() => {
            log.warn({ seconds: bound / 1000 }, 'shutdown did not finish in time; exiting anyway');
            resolve();
          }, bound).unref(),
        );
        await Promise.race([running.stop(), timedOut]);
      });
      console.log(
        `Paperboy is running${running.url ? ` at ${running.url}` : ''} (roles: ${[...config.roles].join(', ')})`,
      );
      if (running.infra.mailboxDir && running.url)
        console.log(
          config.mailboxPage
            ? `Mail it sends is caught locally: ${running.url}/mailbox`
            : `Mail it sends is caught locally in ${running.infra.mailboxDir} (the /mailbox page is off: HOST is not a loopback address or TRUST_PROXY is set; MAILBOX_PAGE=true turns it on)`,
        );
      return;
    }
    case 'check': {
      // For processes without HTTP (a worker's or scheduler's container health check): the
      // servers this configuration points at answer, or exit 1 naming those that do not.
      const { services, close } = await openServices(config, log, { prepare: false });
      try {
        const { ready, checks, relay } = await readiness(services, 5000);
        console.log(
          Object.entries(checks)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n'),
        );
        const refusal = relayRefusal(relay);
        if (refusal) console.log(`relay: ${refusal}`);
        process.exitCode = ready ? 0 : 1;
      } finally {
        await close();
      }
      return;
    }
    case 'migrate': {
      await withServices(config, log, async () => {
        console.log('Database is up to date.');
      });
      return;
    }
    case 'seed': {
      const progress = createProgress('seed');
      const show = (p: PrepareProgress) =>
        progress.update(p.step === 'merging' && p.report ? ingestCounts(p.report) : { phase: STEPS[p.step] });
      await withServices(
        config,
        log,
        async (_services, prepared) => {
          const last = prepared?.seeds.at(-1);
          if (last) progress.update(ingestCounts(last));
          progress.end();
          console.log('Seed papers are loaded.');
        },
        { progress, onPrepare: show },
      );
      return;
    }
    case 'digest': {
      if (sub === 'preview') {
        if (!values.email)
          throw new UsageError('expected `paperboy digest preview --email <address> [--at <time>] [--html]`');
        const email = values.email;
        const at = parseAt(values.at);
        await withServices(config, log, async (services) => {
          const digest = await services.ranking.render(email, at);
          if (!digest) {
            console.log('Nothing new: no digest would be sent.');
            return;
          }
          console.log(values.html ? digest.html : `Subject: ${digest.subject}\n\n${digest.text}`);
        });
        return;
      }
      if (sub !== 'run') throw new UsageError('expected `paperboy digest run|preview`');
      const at = parseAt(values.at);
      const progress = createProgress('digest run');
      await withServices(
        config,
        log,
        async (services) => {
          progress.update({ phase: 'counting due digests' });
          const r = await services.digests.runNow(at, (p) =>
            progress.update({
              phase: undefined,
              done: p.due,
              total: p.total,
              unit: 'due',
              counts: [
                ['sent', p.sent],
                ['skipped', p.skipped],
                ['deferred', p.deferred],
                ['failed', p.failed],
                ['bounced', p.bounced],
                ['refused', p.refused],
              ],
            }),
          );
          progress.end();
          console.log(
            `Digest run at ${at.toISOString()}: ${r.due} due, ${r.sent} sent, ${r.skipped} skipped (nothing new), ` +
              `${r.deferred} deferred, ${r.failed} failed, ${r.bounced} bounced, ${r.refused} refused`,
          );
          // What every process knows of the relay, whether or not this run met it.
          const refusal = relayRefusal(await services.breaker.state());
          if (refusal) {
            console.log(
              `Sending is paused: ${refusal}. The ${r.deferred} digests deferred here stay owed (no address is ` +
                'marked bounced) and go out once the relay takes mail again.',
            );
          } else if (r.relayDown > 0) {
            console.log(
              `The SMTP server failed ${r.relayDown} sends as a relay, not for their addresses (${r.relayReply}): ` +
                'they stay owed and are retried; check SMTP_URL, its credentials and MAIL_FROM.',
            );
          }
        },
        { progress },
      );
      return;
    }
    case 'ingest': {
      const source = values.source as SourceName | undefined;
      if (!sub || !source || !SOURCE_NAMES.includes(source)) {
        throw new UsageError(`expected \`paperboy ingest <path|url> --source <${SOURCE_NAMES.join('|')}>\``);
      }
      const progress = createProgress('ingest');
      await withServices(
        config,
        log,
        async (services) => {
          const r = await services.papers
            .ingest(sub, source, (p) =>
              progress.update(p.step === 'merging' && p.report ? ingestCounts(p.report) : { phase: STEPS[p.step] }),
            )
            .catch((e: Error) => {
              // An unreachable or malformed source is the operator's input problem: say it in one line.
              throw e instanceof SourceUnavailable || /^not (JSON|an Atom feed)|^expected/.test(e.message)
                ? new UsageError(e.message)
                : e;
            });
          progress.update(ingestCounts(r));
          progress.end();
          const reasons = Object.entries(r.skippedReasons).map(([why, n]) => `${n} ${why}`);
          console.log(
            `Ingested ${sub} (${source}): ${r.entries} entries, ${r.new} new, ${r.updated} updated, ` +
              `${r.unchanged} unchanged, ${r.skipped} skipped${reasons.length ? ` (${reasons.join('; ')})` : ''}`,
          );
        },
        { progress },
      );
      return;
    }
    case 'rank': {
      if (!values.email) throw new UsageError('expected `paperboy rank --email <address> [--at <time>]`');
      const at = parseAt(values.at);
      const email = values.email;
      await withServices(config, log, async (services) => {
        const r = await services.ranking.preview(email, at);
        console.log(
          `${r.email} (${r.status}; topics: ${r.topics.length ? r.topics.join(', ') : 'none'}; ${r.maxPapers} papers; ` +
            `papers news since ${r.since.toISOString().slice(0, 10)}; ${r.alreadySent} sent before)`,
        );
        if (!r.picks.length) console.log('Nothing new: no digest would be sent.');
        for (const p of r.picks) {
          console.log(`${String(p.position).padStart(2)}. ${p.title}${p.arxiv_id ? ` [arXiv:${p.arxiv_id}]` : ''}`);
          console.log(`    why: ${p.reason} (trend score ${p.trend_score})`);
        }
      });
      return;
    }
    case 'subscriber': {
      const email = values.email;
      if (!email || !['show', 'export', 'erase'].includes(sub ?? '')) {
        throw new UsageError('expected `paperboy subscriber show|export|erase --email <address>`');
      }
      await withServices(config, log, async (services) => {
        // The same actions a subscriber takes through their preferences link, by address.
        if (sub === 'export') {
          console.log(JSON.stringify(await services.manage.exportByEmail(email), null, 2));
        } else if (sub === 'erase') {
          const erased = await services.manage.eraseByEmail(email);
          console.log(`Erased ${erased}; only a hash of the address is kept, so it is not mailed by accident.`);
        } else {
          const found = await services.manage.lookup(email);
          const { subscriber: s, view: v } = found;
          const p = v.preferences;
          console.log(
            [
              `${v.email}: ${v.status} (id ${s.id}, signed up ${s.created_at.toISOString()})`,
              `  ${p.frequency}${p.frequency === 'weekly' ? ` on day ${p.weekday}` : ''} at ${String(p.hour).padStart(2, '0')}:00 ${p.timezone}, ${p.maxPapers} papers`,
              `  topics: ${p.topics.length ? p.topics.join(', ') : 'none'}`,
              `  next digest: ${v.nextDigestAt ?? 'none'}`,
              ...confirmationLines(found),
            ].join('\n'),
          );
        }
      });
      return;
    }
    case 'suppressions': {
      const reason = values.reason as SuppressionReason | undefined;
      if (reason !== undefined && !SUPPRESSION_REASONS.includes(reason)) {
        throw new UsageError(`--reason: expected one of ${SUPPRESSION_REASONS.join(', ')}`);
      }
      const since = values.since === undefined ? undefined : parseAt(values.since, '--since');
      if (sub === 'list') {
        await withServices(config, log, async (services) => {
          const rows = await services.suppressions.list({ reason, since });
          if (!rows.length) console.log('No suppressed addresses.');
          for (const r of rows) {
            const who = r.email ?? `(erased; hash ${r.email_hash.slice(0, 12)}…)`;
            console.log(
              `${r.created_at.toISOString()}  ${r.reason.padEnd(9)}  ${who}${r.detail ? `  ${r.detail}` : ''}`,
            );
          }
        });
        return;
      }
      if (sub === 'lift' && (values.email || reason)) {
        const which = values.email ? { email: values.email } : { reason: reason as SuppressionReason, since };
        await withServices(config, log, async (services) => {
          const lifted = await services.suppressions.lift(which);
          const restored = lifted.filter((l) => l.status);
          console.log(
            `Lifted ${lifted.length} suppression${lifted.length === 1 ? '' : 's'}; ${restored.length} subscriber${
              restored.length === 1 ? '' : 's'
            } receive mail again.`,
          );
          for (const l of restored) console.log(`  ${l.email}: ${l.status}`);
        });
        return;
      }
      throw new UsageError(
        'expected `paperboy suppressions list [--reason R] [--since T]` or `paperboy suppressions lift --email X | --reason R [--since T]`',
      );
    }
    default:
      throw new UsageError(`unknown command: ${command}\n\n${HELP}`);
  }
}

class UsageError extends Error {}

/**
 * Where an unconfirmed subscriber's confirmation mail stands: owed (and how its tries went) or
 * given up, and why; for one who left, the return a signup asked for.
 */
function confirmationLines({
  subscriber: s,
  awaitsConfirmation: awaiting,
  requestedPreferences: asked,
}: SubscriberLookup): string[] {
  const request = asked
    ? [
        `  a signup asks to come back, once confirmed: ${asked.frequency} at ${String(asked.hour).padStart(2, '0')}:00 ${asked.timezone}, ${asked.maxPapers} papers, topics: ${asked.topics.join(', ') || 'none'}`,
      ]
    : [];
  if (!awaiting && s.status !== 'bounced') return [];
  if (s.confirm_given_up_at) {
    return [
      ...request,
      `  confirmation given up ${s.confirm_given_up_at.toISOString()}: ${s.confirm_last_error ?? ''}`,
    ];
  }
  if (!awaiting || s.confirm_sent_at) return request;
  const tries = s.confirm_last_error ? ` (${s.confirm_attempts} failed rounds; last: ${s.confirm_last_error})` : '';
  return [...request, `  confirmation owed${tries}`];
}

function parseAt(value: string | undefined, option = '--at'): Date {
  const at = value ? new Date(value) : new Date();
  if (Number.isNaN(at.getTime())) throw new UsageError(`${option}: not a time: ${value}`);
  return at;
}

/** What a progress line says during each step of opening the database and reading a source. */
const STEPS: Record<PrepareProgress['step'], string> = {
  migrating: 'migrating the database',
  merging: 'loading the seed papers',
  reading: 'reading the source',
  ranking: 'refreshing trend scores',
};

/** An ingest's counts so far, as a progress line shows them. */
function ingestCounts(r: Readonly<IngestReport>): ProgressUpdate {
  return {
    phase: undefined,
    done: r.new + r.updated + r.unchanged + r.skipped,
    total: r.entries,
    unit: 'entries',
    counts: [
      ['new', r.new],
      ['updated', r.updated],
      ['unchanged', r.unchanged],
      ['skipped', r.skipped],
    ],
  };
}

/**
 * Opens the servers and services for one command, and closes them however the command ends. With
 * `progress`, its line tells what is happening while they open (starting local servers takes a
 * while), and is ended if the command fails, so the error starts on a line of its own.
 */
async function withServices(
  config: Config,
  log: Logger,
  fn: (services: Services, prepared: Awaited<ReturnType<typeof openServices>>['prepared']) => Promise<void>,
  opts: { progress?: Progress; onPrepare?: (p: PrepareProgress) => void } = {},
) {
  const { progress } = opts;
  progress?.update({ phase: 'opening the database and queues' });
  const onPrepare =
    opts.onPrepare ?? (progress ? (p: PrepareProgress) => progress.update({ phase: STEPS[p.step] }) : undefined);
  const { services, prepared, close } = await openServices(config, log, { onPrepare }).catch((e) => {
    progress?.end();
    throw e;
  });
  onStop(close);
  try {
    await fn(services, prepared);
  } finally {
    progress?.end();
    // The handler stays until the servers are down: an early stop meanwhile waits for the same close.
    await close();
    stopHandler = undefined;
  }
}

let stopHandler: ((reason: string) => Promise<void>) | undefined;

/** What stopping early does: end this command's work and the local servers it started. */
function onStop(handler: (reason: string) => Promise<void>) {
  stopHandler = handler;
}

let stopping = false;
function stop(reason: string, code: number) {
  if (stopping) return;
  stopping = true;
  (stopHandler?.(reason) ?? Promise.resolve()).then(
    () => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

// A service stops cleanly on SIGINT/SIGTERM; an interrupted command exits 130.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => stop(signal, stopHandler && process.argv[2] === 'start' ? 0 : 130));
}
// `paperboy rank … | head` closes stdout early: not an error, but the servers must still stop.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') stop('EPIPE', 0);
});

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
