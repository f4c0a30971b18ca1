import type { Clock } from '../core/clock.ts';
import type { Counters } from '../core/counters.ts';
import type { Db } from '../core/db.ts';
import { forEachConcurrently } from '../core/each.ts';
import type { Logger } from '../core/logger.ts';
import { scheduleText } from '../digests/renderer.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import type { Links } from './links.ts';
import { createSubscriberRepository } from './repository.ts';

export type SignupMailOutcome = 'confirmation' | 'already-subscribed' | 'suppressed' | 'none';

/** Replies of one batch sent at once, through the mailer's pool of SMTP sessions. */
const BATCH_CONCURRENCY = 4;

/** What the mail queue's job is to the mailer: its attempt, and a way to narrow what a retry sends. */
export interface SignupMailJob {
  attemptsMade: number;
  opts: { attempts?: number };
  updateData(data: { subscriberIds: number[] }): Promise<void>;
}

/**
 * The reply to a signup, decided when it is sent: a pending address gets the double opt-in link,
 * an active one a reminder with its preferences link (not a second subscription), an address
 * that bounced before gets nothing.
 */
export function createSignupMailer(deps: {
  db: Db;
  mailer: Mailer;
  templates: EmailTemplates;
  links: Links;
  clock: Clock;
  log: Logger;
  counters: Counters;
  confirmTtlHours: number;
}) {
  const repo = createSubscriberRepository(deps.db);

  /** The reply to one signup, decided now from the subscriber's state. */
  async function send(subscriberId: number): Promise<SignupMailOutcome> {
    const s = await repo.findById(subscriberId);
    if (!s || (s.status !== 'pending' && s.status !== 'active')) return 'none';
    if ((await repo.suppressionOf(s.email)) === 'bounced') {
      deps.log.info({ subscriberId }, 'signup mail not sent: the address bounced before');
      return 'suppressed';
    }
    const now = deps.clock.now();
    const common = {
      email: s.email,
      manageUrl: deps.links.manage(s.id),
      scheduleText: scheduleText({
        frequency: s.frequency,
        sendHour: s.send_hour,
        sendWeekday: s.send_weekday,
        timezone: s.timezone,
      }),
    };
    if (s.status === 'pending') {
      const { html, text } = await deps.templates.render('confirm', {
        ...common,
        confirmUrl: deps.links.confirm(s.id, now),
        ttlText: durationText(deps.confirmTtlHours),
      });
      await deps.mailer.send({ to: s.email, subject: 'Confirm your Paperboy subscription', html, text });
      await repo.markSignupMailSent(s.id, now);
      return 'confirmation';
    }
    const { html, text } = await deps.templates.render('already-subscribed', common);
    await deps.mailer.send({ to: s.email, subject: 'You are already subscribed to Paperboy', html, text });
    return 'already-subscribed';
  }

  return {
    send,
    /**
     * Sends the replies of a batch of signups. Mails that fail leave the others sent: the job keeps
     * only the failed ids and throws, so its retry sends only those. Sent mails are counted, and
     * failed ones once the last attempt has failed. A worker killed in the middle leaves the whole
     * job to be taken again, so the replies it had sent go out twice: a repeated confirmation
     * link, never a digest.
     */
    async sendJob(subscriberIds: number[], job: SignupMailJob): Promise<Record<string, number>> {
      const outcomes: Record<string, number> = {};
      const failed: number[] = [];
      let firstError: unknown;
      await forEachConcurrently(subscriberIds, BATCH_CONCURRENCY, async (id) => {
        try {
          const outcome = await send(id);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        } catch (err) {
          failed.push(id);
          firstError ??= err;
        }
      });
      const sent = (outcomes.confirmation ?? 0) + (outcomes['already-subscribed'] ?? 0);
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      // Counting must not fail a job whose mails went out: its retry would send them again.
      await Promise.all([
        deps.counters.add('signup_mails_sent', sent),
        final ? deps.counters.add('signup_mails_failed', failed.length) : undefined,
      ]).catch((err) => deps.log.warn({ err }, 'signup mails not counted'));
      if (failed.length > 0) {
        await job.updateData({ subscriberIds: failed.sort((a, b) => a - b) });
        throw firstError;
      }
      return outcomes;
    },
  };
}

function durationText(hours: number): string {
  const [n, unit] = hours % 24 === 0 ? [hours / 24, 'day'] : [hours, 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
