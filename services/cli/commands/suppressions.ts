import { SUPPRESSION_REASONS, type SuppressionReason } from '../../subscribers/suppressions.ts';
import { defineCommand, parseAt, UsageError } from '../command.ts';
import { withServices } from '../lifecycle.ts';

export const suppressions = defineCommand({
  name: 'suppressions',
  help: [
    {
      usage: `suppressions list [--reason ${SUPPRESSION_REASONS.join('|')}] [--since <time>]`,
      summary: 'The addresses Paperboy will not mail, newest first, and what caused each',
    },
    {
      usage: 'suppressions lift --email <address> | --reason <reason> [--since <time>]',
      summary:
        "Mail them again (a bounced subscriber becomes active again): for\naddresses a relay's mistake suppressed",
    },
  ],
  options: { email: { type: 'string' }, reason: { type: 'string' }, since: { type: 'string' } },
  async run({ config, log, words, options }) {
    const [sub] = words;
    const reason = options.reason as SuppressionReason | undefined;
    if (reason !== undefined && !SUPPRESSION_REASONS.includes(reason)) {
      throw new UsageError(`--reason: expected one of ${SUPPRESSION_REASONS.join(', ')}`);
    }
    const since = options.since === undefined ? undefined : parseAt(options.since, '--since');
    if (sub === 'list') {
      await withServices(config, log, async (services) => {
        const rows = await services.suppressions.list({ reason, since });
        if (!rows.length) console.log('No suppressed addresses.');
        for (const r of rows) {
          const who = r.email ?? `(erased; hash ${r.email_hash.slice(0, 12)}…)`;
          console.log(`${r.created_at.toISOString()}  ${r.reason.padEnd(9)}  ${who}${r.detail ? `  ${r.detail}` : ''}`);
        }
      });
      return;
    }
    if (sub === 'lift' && (options.email || reason)) {
      const which = options.email ? { email: options.email } : { reason: reason as SuppressionReason, since };
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
  },
});
