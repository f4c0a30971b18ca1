import type { Clock } from '../core/clock.ts';
import type { Counters } from '../core/counters.ts';
import type { Db } from '../core/db.ts';
import { forEachConcurrently } from '../core/each.ts';
import { isUnavailable } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Outcome } from '../delivery/channel.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import type { Links } from './links.ts';
import { describeSchedule } from './preferences.ts';
import { awaitsConfirmation, createSubscriberRepository, preferencesOf, requestedPreferencesOf } from './repository.ts';

export type SignupMailOutcome =
  | 'confirmation'
  | 'already-subscribed'
  | 'manage-link'
  | 'suppressed'
  | 'none'
  /** The server said the address does not work: it is suppressed, and the mail not tried again. */
  | 'bounced'
  /** The server refused the message itself: not tried again, the address kept. */
  | 'refused';

/** Replies of one batch sent at once, through the mailer's pool of SMTP sessions. */
const BATCH_CONCURRENCY = 4;

/**
 * Rounds of tries after which a confirmation that keeps failing (temporary refusals, errors other
 * than the relay's) is given up. A round is one job: the signup's own (five tries over about 30
 * seconds), then one try per sweep, SWEEP_AFTER_SECONDS apart (5 minutes by default). Five rounds
 * span about 20 minutes and 9 tries: past greylisting (a few minutes to a quarter of an hour) and
 * a receiving server's short trouble; a server still refusing after that is not likely to take
 * the mail, and every further try to it costs the sender's reputation there. Signing up again
 * starts over.
 */
export const CONFIRMATION_ROUNDS = 5;

/** What the mail queue's job is to the mailer: its attempt, and a way to narrow what a retry sends. */
export interface SignupMailJob {
  attemptsMade: number;
  opts: { attempts?: number };
  updateData(data: { subscriberIds: number[] }): Promise<void>;
}

/** A suppression that stops every mail to the address; an erasure's does not stop a new signup's confirmation. */
const isBlocking = (reason: string | undefined) => reason === 'bounced' || reason === 'complaint';

/**
 * The reply to a signup, decided when it is sent: a pending address gets the double opt-in link,
 * an unsubscribed one that asked to come back the same link for the preferences it asked for, an
 * active or paused one a reminder with its preferences link (not a second subscription), an
 * address that bounced or complained before gets nothing (a signup may be anyone's). Also the
 * mail with a fresh preferences link a subscriber asks for.
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

  /**
   * Sends one reply through the mail transport. A verdict on the address (RCPT 5.1.x, ...)
   * suppresses it; a refusal of the message gives it up; a failure of the relay or a temporary one
   * throws, for the job to retry.
   */
  async function deliver(
    email: string,
    subject: string,
    html: string,
    text: string,
  ): Promise<{ outcome: 'sent' } | { outcome: 'bounced' | 'refused'; response: string }> {
    const sent = await deps.mailer.send({ to: email, subject, html, text });
    switch (sent.kind) {
      case 'sent':
        return { outcome: 'sent' };
      case 'address-gone':
        await repo.suppress(email, 'bounced', sent.reply);
        deps.log.warn({ response: sent.reply }, 'signup mail bounced; address suppressed');
        return { outcome: 'bounced', response: sent.reply };
      case 'message-refused':
        deps.log.warn({ response: sent.reply }, 'signup mail refused by the server');
        return { outcome: 'refused', response: sent.reply };
      default:
        throw new NotSent(sent);
    }
  }

  /** No confirmation will go out for this signup: recorded, so the sweeper does not try it again. */
  async function giveUp(subscriberId: number, why: string) {
    await repo.giveUpConfirmation(subscriberId, why, deps.clock.now());
    deps.log.warn({ subscriberId, why }, 'confirmation given up');
  }

  /**
   * A failed try of a confirmation, on the row: its reply, and whether it ended a round that
   * counts. A relay failure or an outage of PostgreSQL or Redis says nothing about this message,
   * so it never counts: the confirmation stays owed until the relay takes it.
   */
  async function recordFailure(subscriberId: number, err: unknown, lastTry: boolean) {
    const relay = (err instanceof NotSent && err.outcome.kind === 'channel-down') || isUnavailable(err);
    const why = replyOf(err);
    try {
      const givenUp = await repo.recordConfirmationFailure(subscriberId, why, {
        counts: lastTry && !relay,
        maxRounds: CONFIRMATION_ROUNDS,
        at: deps.clock.now(),
      });
      if (givenUp) {
        deps.log.warn({ subscriberId, why, rounds: CONFIRMATION_ROUNDS }, 'confirmation given up');
      }
    } catch (recordErr) {
      // The try's own failure is what the job reports and retries on.
      deps.log.warn({ err: recordErr, subscriberId }, 'failed confirmation not recorded');
    }
  }

  /**
   * The reply to one signup, decided now from the subscriber's state. `lastTry` says whether the
   * job carrying it will try again if this one fails.
   */
  async function send(subscriberId: number, lastTry = true): Promise<SignupMailOutcome> {
    const s = await repo.findById(subscriberId);
    if (!s) return 'none';
    const confirming = awaitsConfirmation(s);
    if (!confirming && s.status !== 'active' && s.status !== 'paused') return 'none';
    const suppressed = await repo.suppressionOf(s.email);
    if (isBlocking(suppressed)) {
      deps.log.info({ subscriberId, reason: suppressed }, 'signup mail not sent: the address is suppressed');
      if (confirming) {
        const why = suppressed === 'bounced' ? 'bounced before' : 'reported a Paperboy mail as spam';
        await giveUp(s.id, `the address ${why} and is suppressed`);
      }
      return 'suppressed';
    }
    const now = deps.clock.now();
    // A confirmation describes what confirming sets: for a return, the preferences asked for.
    const prefs = (confirming && requestedPreferencesOf(s)) || preferencesOf(s);
    const common = { email: s.email, scheduleText: describeSchedule(prefs) };
    if (confirming) {
      let sent: Awaited<ReturnType<typeof deliver>>;
      try {
        // The confirmation mail may reach someone who never signed up: it carries the one link
        // that confirms, and no other capability.
        const { html, text } = await deps.templates.render('confirm', {
          ...common,
          confirmUrl: deps.links.confirm(s.id, now),
          ttlText: durationText(deps.confirmTtlHours),
        });
        sent = await deliver(s.email, 'Confirm your Paperboy subscription', html, text);
      } catch (err) {
        await recordFailure(s.id, err, lastTry);
        throw err;
      }
      if (sent.outcome !== 'sent') {
        await giveUp(s.id, sent.response);
        return sent.outcome;
      }
      await repo.markSignupMailSent(s.id, now);
      return 'confirmation';
    }
    const stateText =
      s.status === 'paused'
        ? 'Your subscription is paused and unchanged: no digests arrive until you resume it.'
        : `Your subscription is active and unchanged: digests arrive ${common.scheduleText}.`;
    const { html, text } = await deps.templates.render('already-subscribed', {
      ...common,
      stateText,
      manageUrl: deps.links.manage(s, now),
      manageTtlText: durationText(deps.links.manageTtlDays * 24),
    });
    const sent = await deliver(s.email, 'You are already subscribed to Paperboy', html, text);
    return sent.outcome === 'sent' ? 'already-subscribed' : sent.outcome;
  }

  /**
   * A fresh preferences link, to the address on record and nowhere else. Whoever asked (with an
   * unsubscribe link or an expired one) learns nothing from it; a relay failure or a temporary
   * one throws, for the job to retry.
   */
  async function sendManageLink(subscriberId: number): Promise<SignupMailOutcome> {
    const s = await repo.findById(subscriberId);
    if (!s || s.status === 'bounced') return 'none';
    if (isBlocking(await repo.suppressionOf(s.email))) return 'suppressed';
    const { html, text } = await deps.templates.render('manage-link', {
      email: s.email,
      manageUrl: deps.links.manage(s, deps.clock.now()),
      manageTtlText: durationText(deps.links.manageTtlDays * 24),
    });
    const sent = await deliver(s.email, 'Your link to your Paperboy preferences', html, text);
    // Counting must not fail a job whose mail went out: its retry would send it again.
    await deps.counters
      .add(sent.outcome === 'sent' ? 'link_mails_sent' : 'link_mails_failed', 1)
      .catch((err) => deps.log.warn({ err }, 'preferences-link mail not counted'));
    return sent.outcome === 'sent' ? 'manage-link' : sent.outcome;
  }

  return {
    send,
    sendManageLink,
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
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await forEachConcurrently(subscriberIds, BATCH_CONCURRENCY, async (id) => {
        try {
          const outcome = await send(id, final);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        } catch (err) {
          failed.push(id);
          firstError ??= err;
        }
      });
      const sent = (outcomes.confirmation ?? 0) + (outcomes['already-subscribed'] ?? 0);
      // Given up at once: the server's verdict would be the same on every attempt.
      const givenUp = (outcomes.bounced ?? 0) + (outcomes.refused ?? 0);
      // Counting must not fail a job whose mails went out: its retry would send them again.
      await Promise.all([
        deps.counters.add('signup_mails_sent', sent),
        deps.counters.add('signup_mails_failed', givenUp + (final ? failed.length : 0)),
      ]).catch((err) => deps.log.warn({ err }, 'signup mails not counted'));
      if (failed.length > 0) {
        await job.updateData({ subscriberIds: failed.sort((a, b) => a - b) });
        throw firstError;
      }
      return outcomes;
    },
  };
}

/** A reply the transport says is worth trying again later: the job's error, carrying the reply. */
class NotSent extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.reply);
  }
}

/** What the server answered (or the error, when there was no answer), as an operator reads it. */
function replyOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 1000);
}

function durationText(hours: number): string {
  const [n, unit] = hours % 24 === 0 ? [hours / 24, 'day'] : [hours, 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
