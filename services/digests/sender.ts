import { randomUUID } from 'node:crypto';
import { createBatcher } from '../core/batcher.ts';
import type { Db } from '../core/db.ts';
import { isUnavailable } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { addressOf, type Mailer, SmtpError } from '../mail/mailer.ts';
import { createMimeWriter, formatAddress } from '../mail/mime.ts';
import type { FailureOutcome } from '../mail/outcome.ts';
import type { RelayBreaker } from '../mail/relay-breaker.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import type { Links } from '../subscribers/links.ts';
import { type DigestRecipient, renderDigest } from './renderer.ts';
import { type RetryPolicy, retryDelayMs } from './retry.ts';
import { createDigestStore, type DigestDelivery, type DigestStore, type SentRecord } from './store.ts';

export interface SendReport {
  sent: number;
  /** Temporary failures left queued for a later attempt. */
  deferred: number[];
  /** Temporary failures that used their last attempt. */
  failed: number;
  bounced: number;
  /** Refused by the server for what the message is (content, size, policy): given up, address kept. */
  refused: number;
  /** Deferred because the relay or the way to it failed (connection, AUTH, MAIL FROM), not the message. */
  relayDown: number;
  /** The reply of the last relay failure, to say what the relay said. */
  relayReply?: string;
  /**
   * The relay refuses (this batch's sends failed its way, or the breaker was already open): the
   * batch stopped or never started, and what it did not send stays owed until `resumeAt`.
   */
  relayPaused?: boolean;
  /** When the relay may be tried again (the breaker's next probe). */
  resumeAt?: Date;
  /** Due longer ago than the maximum age: recorded as skipped. */
  stale: number;
  /** Deliveries no longer owed: sent by someone else, or the subscriber left. */
  notOwed: number;
  /** Owed but left unsent: the worker is stopping, or the relay refuses. */
  released: number;
  /** Accepted by the server (and counted in `sent`) but not recorded: left in `sending` for the lease. */
  unrecorded: number;
}

/**
 * Records accepted sends (group commit, core/batcher.ts). Those that finish while a write is under
 * way go together in the next one: one statement and one commit for several messages. A send that
 * finishes while none is under way is written at once, with no waiting added.
 *
 * The server has accepted these messages, so a record that fails for want of PostgreSQL (a
 * restart, a lost connection) is tried again, every two seconds at most, until it answers: given
 * up, the deliveries would stay in `sending` and be sent again once their lease ran out. Nothing
 * else in a batch can proceed without the database meanwhile; a worker stopped while waiting
 * leaves them to the lease, as a crash does. Marking is idempotent (only rows still in `sending`
 * change), so a retry after a commit whose answer was lost changes nothing.
 *
 * Any other failure (a deadlock, a timeout, a lost connection in words `isUnavailable` does not
 * know, a row PostgreSQL refuses) is tried again a few times; a group that still fails is written
 * one delivery at a time, so that one bad row leaves no other unrecorded. What still fails is
 * answered to its sender as an error, which must not take it for a failed send (see sendOne).
 */
function createSentRecorder(store: DigestStore) {
  const write = async (sent: SentRecord[]): Promise<void> => {
    let failures = 0;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await store.markSent(sent);
        return;
      } catch (err) {
        if (!isUnavailable(err) && ++failures >= RECORD_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  const markSent = async (sent: SentRecord[]): Promise<Array<undefined | Error>> => {
    try {
      await write(sent);
      return sent.map(() => undefined);
    } catch (err) {
      if (sent.length === 1) return [asError(err)];
      const answers: Array<undefined | Error> = [];
      for (const one of sent) answers.push(await write([one]).then(() => undefined, asError));
      return answers;
    }
  };
  const recorder = createBatcher<SentRecord, undefined>(markSent, {
    maxSize: Number.POSITIVE_INFINITY,
    maxConcurrent: 1,
    startWhenIdle: true,
  });
  return (id: number, messageId: string, reply: string, token: string) =>
    recorder.submit({ id, messageId, reply, token });
}

/** Tries of a record of accepted sends that fails for another reason than an outage. */
const RECORD_ATTEMPTS = 5;

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export interface SenderDeps {
  db: Db;
  mailer: Mailer;
  /** Shared with every process: pauses sending while the relay refuses. */
  breaker: RelayBreaker;
  templates: EmailTemplates;
  links: Links;
  log: Logger;
  /** The From header, e.g. "Paperboy <digest@example.org>". */
  from: string;
  replyTo?: string;
  /** Adds a mailto: to List-Unsubscribe. */
  unsubscribeMailto?: string;
  feedbackId?: string;
  retry: RetryPolicy;
  maxAgeSeconds: number;
  /** Seconds after which a delivery left in `sending` by a dead worker may be taken again. */
  leaseSeconds: number;
  concurrency?: number;
}

/** A delivery as the digest mail shows it to its reader, with their links signed at `now`. */
export function digestRecipient(d: DigestDelivery, links: Links, now: Date): DigestRecipient {
  return {
    email: d.email,
    digestDate: d.digestDate,
    frequency: d.frequency,
    sendHour: d.sendHour,
    sendWeekday: d.sendWeekday,
    timezone: d.timezone,
    papers: d.papers,
    unsubscribeUrl: links.unsubscribe(d.subscriberId),
    manageUrl: links.manage({ id: d.subscriberId, token_epoch: d.tokenEpoch }, now),
    viewUrl: links.viewDigest(d.id, d.tokenEpoch),
  };
}

/**
 * Relay failures in a row after which a batch stops, leaves the rest owed and opens the breaker
 * (as does a smaller batch whose every send failed the relay's way).
 */
export const RELAY_FAILURES_TO_PAUSE = 5;

/** Message-ID fixed per (subscriber, digest day): a resend after a crash carries the same id. */
export const digestMessageId = (subscriberId: number, digestDate: string, domain: string) =>
  `<digest.${digestDate}.${subscriberId}@${domain}>`;

export const mailDomain = (from: string) => addressOf(from).split('@')[1] ?? 'localhost';

/**
 * Sends a batch of planned deliveries. Deliveries are claimed in PostgreSQL a few at a time right
 * before their messages go out, and each is marked sent as soon as the server accepts it (with
 * any others accepted meanwhile), so a batch run twice (a stalled job, a retry, the sweeper) sends
 * each digest once; only a crash between the server's 250 and the commit can repeat one, with the
 * same Message-ID.
 */
export function createDigestSender(deps: SenderDeps) {
  const { mailer, templates, links, log } = deps;
  const store = createDigestStore(deps.db);
  const recordSent = createSentRecorder(store);
  const domain = mailDomain(deps.from);
  const fromAddress = addressOf(deps.from);
  const fromName = deps.from.includes('<')
    ? deps.from.slice(0, deps.from.indexOf('<')).trim().replace(/^"|"$/g, '')
    : undefined;
  // Headers every digest shares, written once.
  const writeMessage = createMimeWriter([
    ['From', formatAddress(fromName, fromAddress)],
    ...(deps.replyTo ? [['Reply-To', deps.replyTo] as [string, string]] : []),
    ['List-Id', `Paperboy digest <digest.${domain}>`],
    ...(deps.feedbackId ? [['Feedback-ID', deps.feedbackId] as [string, string]] : []),
  ]);

  /** Sends one claimed delivery and settles it under its claim's token. */
  async function sendOne(
    d: DigestDelivery,
    attempts: number,
    claim: string,
    now: Date,
    lastAttempt: boolean,
    report: SendReport,
  ): Promise<'sent' | FailureOutcome> {
    const recipient = digestRecipient(d, links, now);
    const { subject, html, text } = await renderDigest(templates, recipient);
    const messageId = digestMessageId(d.subscriberId, d.digestDate, domain);
    const mailto = deps.unsubscribeMailto ? `, <mailto:${deps.unsubscribeMailto}?subject=unsubscribe>` : '';
    const raw = writeMessage({
      to: d.email,
      subject,
      text,
      html,
      messageId,
      date: new Date(),
      headers: [
        ['List-Unsubscribe', `<${recipient.unsubscribeUrl}>${mailto}`],
        ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
      ],
    });
    let info: { messageId: string; response: string };
    try {
      info = await mailer.sendRaw(d.email, raw, messageId);
    } catch (e) {
      // Anything but an SMTP reply is worth another attempt.
      const outcome = e instanceof SmtpError ? e.outcome : 'retry';
      const message = e instanceof SmtpError ? (e.response ?? e.message) : String(e);
      if (outcome === 'address-gone') {
        await store.markBounced(d.id, message, claim);
        report.bounced++;
        log.warn({ delivery: d.id, response: message }, 'digest bounced; address suppressed');
        return outcome;
      }
      if (outcome === 'message-refused') {
        await store.markRefused(d.id, message, claim);
        report.refused++;
        log.warn(
          { delivery: d.id, response: message },
          'digest refused by the server; the address keeps its next digest',
        );
        return outcome;
      }
      const nextAttempt = new Date(now.getTime() + retryDelayMs(deps.retry, attempts));
      if (outcome === 'relay-down') {
        await store.markChannelDown(d.id, message, nextAttempt, claim);
        report.relayDown++;
        report.relayReply = message;
        report.deferred.push(d.id);
        log.warn({ delivery: d.id, err: message }, 'digest not sent: the relay failed');
        return outcome;
      }
      await store.markDeferred(d.id, message, lastAttempt ? null : nextAttempt, claim);
      if (lastAttempt) report.failed++;
      else report.deferred.push(d.id);
      log.warn({ delivery: d.id, err: message, lastAttempt }, 'digest not sent');
      return outcome;
    }
    // The server has accepted the message: from here on nothing may count as a failed send, or the
    // retry would mail it again. A record that cannot be written leaves the delivery in `sending`;
    // once its lease has run out it is sent again, with the same Message-ID.
    try {
      await recordSent(d.id, info.messageId, info.response, claim);
    } catch (e) {
      report.unrecorded++;
      log.error(
        { delivery: d.id, messageId: info.messageId, err: e },
        'digest accepted by the server but not recorded as sent: left in sending, to be sent again with the same Message-ID after its lease',
      );
    }
    report.sent++;
    return 'sent';
  }

  return {
    /**
     * Sends what is still owed of `ids`. `now` is the planner's clock (for the maximum age);
     * `signal` stops it between messages, leaving the rest owed for another worker.
     */
    async sendBatch(
      ids: number[],
      opts: { now: Date; lastAttempt?: boolean; signal?: AbortSignal },
    ): Promise<SendReport> {
      const report: SendReport = {
        sent: 0,
        deferred: [],
        failed: 0,
        bounced: 0,
        refused: 0,
        relayDown: 0,
        stale: 0,
        notOwed: 0,
        released: 0,
        unrecorded: 0,
      };
      report.stale = await store.skipStale(ids, deps.maxAgeSeconds, opts.now);
      const rows = await store.loadOwed(ids);
      if (rows.length + report.stale < ids.length) {
        // Some are owed to a subscriber who has left since: settled now, not left owed to nobody.
        await store.settleLeft(ids, deps.leaseSeconds);
      }
      report.notOwed += ids.length - rows.length - report.stale;
      if (!rows.length) return report;
      const gate = await deps.breaker.gate();
      if (gate.kind === 'wait') {
        Object.assign(report, { relayPaused: true, resumeAt: gate.until, relayReply: gate.reply });
        report.released = rows.length;
        return report;
      }
      // This batch's claims carry one token; only it can settle what they take.
      const claim = randomUUID();
      // Deliveries are claimed a lane's worth at a time, just before they are sent, so a worker
      // that dies holds only that many in `sending` until their lease runs out.
      const lanes = Math.max(1, deps.concurrency ?? 8);
      const claimed: { d: DigestDelivery; attempts: number }[] = [];
      let next = 0;
      let claiming: Promise<void> | undefined;
      const claimMore = async () => {
        const chunk = rows.slice(next, next + lanes);
        next += chunk.length;
        const attempts = await store.claim(
          chunk.map((d) => d.id),
          deps.leaseSeconds,
          claim,
        );
        for (const d of chunk) {
          const a = attempts.get(Number(d.id));
          if (a === undefined) report.notOwed++;
          else claimed.push({ d, attempts: a });
        }
      };
      // A lane with nothing to send waits for a claim in flight (another lane's) before giving up,
      // so the last chunk of a batch is still sent by every lane.
      const take = async () => {
        for (;;) {
          const c = claimed.shift();
          if (c) return c;
          if (!claiming) {
            if (next >= rows.length) return undefined;
            claiming = claimMore().finally(() => {
              claiming = undefined;
            });
          }
          await claiming;
        }
      };
      // A relay that fails message after message (refusing the sender, rejecting the login) would
      // fail the rest alike: the batch stops, leaving the rest owed, rather than trying each one.
      let relayStreak = 0;
      let tried = 0;
      const relayBroken = () => relayStreak >= RELAY_FAILURES_TO_PAUSE;
      const sendNext = async () => {
        const c = await take();
        if (!c) return false;
        const outcome = await sendOne(c.d, c.attempts, claim, opts.now, opts.lastAttempt ?? false, report);
        tried++;
        relayStreak = outcome === 'relay-down' ? relayStreak + 1 : 0;
        return true;
      };
      // The breaker is open and this batch probes: one message alone first. Unless the relay
      // fails it its way again, the breaker closes and the batch goes on as usual.
      if (gate.kind === 'probe' && (await sendNext())) {
        if (relayStreak > 0) relayStreak = RELAY_FAILURES_TO_PAUSE;
        else if (await deps.breaker.reset()) log.info('the SMTP relay accepts mail again; sending resumes');
      }
      await Promise.all(
        Array.from({ length: Math.min(lanes, rows.length) }, async () => {
          while (!opts.signal?.aborted && !relayBroken()) {
            if (!(await sendNext())) return;
          }
        }),
      );
      report.relayPaused = relayBroken() || (tried > 0 && report.relayDown === tried);
      if (report.relayPaused) {
        report.resumeAt = await deps.breaker.trip(report.relayReply ?? 'the relay failed');
        log.warn(
          { reply: report.relayReply, resumeAt: report.resumeAt },
          'the SMTP relay refuses: sending paused until a probe gets through',
        );
      }
      if (claimed.length) {
        await store.release(
          claimed.map((c) => c.d.id),
          claim,
        );
      }
      report.released = claimed.length + rows.length - next;
      return report;
    },
  };
}

export type DigestSender = ReturnType<typeof createDigestSender>;
