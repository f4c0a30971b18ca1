import { relayRefusal } from '../../readiness.ts';
import { type CommandContext, defineCommand, expected, parseAt, UsageError } from '../command.ts';
import { withServices } from '../lifecycle.ts';
import { createProgress } from '../progress.ts';

const RUN = {
  usage: 'digest run [--at <time>]',
  summary:
    'Plan and send every digest due at <time> (ISO 8601; default now),\nas if the clock read that time; prints how many were sent',
};
const PREVIEW = {
  usage: 'digest preview --email <address> [--at <time>] [--html]',
  summary: 'Print the digest that subscriber would get (text, or its HTML);\nrecords and sends nothing',
};

type Options = { at?: string; email?: string; html?: boolean };

export const digest = defineCommand({
  name: 'digest',
  help: [RUN, PREVIEW],
  options: { at: { type: 'string' }, email: { type: 'string' }, html: { type: 'boolean' } },
  async run(ctx) {
    const [sub] = ctx.words;
    if (sub === 'preview') return preview(ctx);
    if (sub !== 'run') throw new UsageError('expected `paperboy digest run|preview`');
    return run(ctx);
  },
});

async function preview({ config, log, options }: CommandContext<Options>) {
  const { email } = options;
  if (!email) throw expected(PREVIEW);
  const at = parseAt(options.at);
  await withServices(config, log, async (services) => {
    const digest = await services.ranking.render(email, at);
    if (!digest) {
      console.log('Nothing new: no digest would be sent.');
      return;
    }
    console.log(options.html ? digest.html : `Subject: ${digest.subject}\n\n${digest.text}`);
  });
}

async function run({ config, log, options }: CommandContext<Options>) {
  const at = parseAt(options.at);
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
          `${r.deferred} deferred, ${r.failed} failed, ${r.bounced} bounced, ${r.refused} refused` +
          (r.published ? `, ${r.published} in feeds only (no mail)` : ''),
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
}
