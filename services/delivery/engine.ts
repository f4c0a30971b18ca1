import { randomUUID } from 'node:crypto';
import { createBatcher } from '../core/batcher.ts';
import { isUnavailable } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Channel, ChannelBreaker, Outcome } from './channel.ts';
import { type RetryPolicy, retryDelayMs } from './retry.ts';

/**
 * Where the engine keeps its deliveries (services/digests/store.ts). Every change to a claimed
 * delivery carries the claim's token and changes nothing once another claim holds it.
 */
export interface DeliveryStore<M extends { id: number }> {
  /** Owed deliveries of `ids` due longer ago than `maxAgeSeconds` before `now`, recorded as skipped: how many. */
  skipStale(ids: number[], maxAgeSeconds: number, now: Date): Promise<number>;
  /** The deliveries of `ids` still owed, as messages ready for the channel. */
  loadOwed(ids: number[]): Promise<M[]>;
  /** Deliveries of `ids` owed to a recipient who has left, recorded as skipped (`sending` ones past the lease). */
  settleLeft(ids: number[], leaseSeconds: number): Promise<void>;
  /** Takes those of `ids` still owed (or left `sending` past the lease) under `token`: their attempts, by id. */
  claim(ids: number[], leaseSeconds: number, token: string): Promise<Map<number, number>>;
  /** Claimed deliveries not sent after all go back to the queue, as if never taken. */
  release(ids: number[], token: string): Promise<void>;
  /** Accepted messages (and those owed no message, `messageId` null), recorded together. */
  markSent(sent: SentRecord[]): Promise<void>;
  /** The address does not work: the delivery is bounced and the address suppressed. */
  markBounced(id: number, reply: string, token: string): Promise<void>;
  /** The message was refused for what it is: given up, the address kept. */
  markRefused(id: number, reply: string, token: string): Promise<void>;
  /** The channel failed: owed again from `retryAt`, no attempt counted. */
  markChannelDown(id: number, reply: string, retryAt: Date, token: string): Promise<void>;
  /** A temporary failure: owed again from `retryAt`, or failed when it is null (attempts spent). */
  markDeferred(id: number, reply: string, retryAt: Date | null, token: string): Promise<void>;
}

export interface SentRecord {
  id: number;
  /** Null for a delivery settled without the channel. */
  messageId: string | null;
  reply: string | null;
  token: string;
}

export interface SendReport {
  sent: number;
  /** Delivered without the channel (a digest read only in its reader's feed): recorded, no message sent. */
  published: number;
  /** Temporary failures left queued for a later attempt. */
  deferred: number[];
  /** Temporary failures that used their last attempt. */
  failed: number;
  bounced: number;
  /** Refused by the server for what the message is (content, size, policy): given up, address kept. */
  refused: number;
  /** Deferred because the channel's relay or the way to it failed (connection, AUTH, MAIL FROM), not the message. */
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
  /** Deliveries no longer owed: sent by someone else, or the recipient left. */
  notOwed: number;
  /** Owed but left unsent: the worker is stopping, or the relay refuses. */
  released: number;
  /** Accepted by the server (and counted in `sent`) but not recorded: left in `sending` for the lease. */
  unrecorded: number;
}

export interface EngineDeps<M extends { id: number }> {
  store: DeliveryStore<M>;
  channel: Channel<M>;
  /** Shared with every process: pauses sending while the channel fails. */
  breaker: ChannelBreaker;
  log: Logger;
  retry: RetryPolicy;
  maxAgeSeconds: number;
  /** Seconds after which a delivery left in `sending` by a dead worker may be taken again. */
  leaseSeconds: number;
  /** Messages in flight at once, each claimed just before it goes. */
  concurrency?: number;
  /**
   * Deliveries owed no message (a digest its reader reads only in their feed): claimed and
   * recorded as delivered without the channel, whatever state the channel is in.
   */
  withoutChannel?: (message: M) => boolean;
}

/** A delivery this batch has claimed, with its attempts so far (this one included). */
interface Claimed<M> {
  message: M;
  attempts: number;
}

/** One run of sendBatch: the token its claims carry, its clock, and what it reports. */
interface Batch {
  token: string;
  now: Date;
  lastAttempt: boolean;
  report: SendReport;
}

/**
 * Channel failures in a row after which a batch stops, leaves the rest owed and opens the breaker
 * (as does a smaller batch whose every send failed the channel's way).
 */
export const RELAY_FAILURES_TO_PAUSE = 5;

/** Tries of a record of accepted sends that fails for another reason than an outage. */
const RECORD_ATTEMPTS = 5;

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Records accepted sends (group commit, core/batcher.ts). Those that finish while a write is under
 * way go together in the next one: one statement and one commit for several messages. A send that
 * finishes while none is under way is written at once, with no waiting added.
 *
 * The channel has accepted these messages, so a record that fails for want of PostgreSQL (a
 * restart, a lost connection) is tried again, every two seconds at most, until it answers: given
 * up, the deliveries would stay in `sending` and be sent again once their lease ran out. Nothing
 * else in a batch can proceed without the database meanwhile; a worker stopped while waiting
 * leaves them to the lease, as a crash does. Marking is idempotent (only rows still in `sending`
 * change), so a retry after a commit whose answer was lost changes nothing.
 *
 * Any other failure (a deadlock, a timeout, a lost connection in words `isUnavailable` does not
 * know, a row PostgreSQL refuses) is tried again a few times; a group that still fails is written
 * one delivery at a time, so that one bad row leaves no other unrecorded. What still fails is
 * answered to its sender as an error, which must not take it for a failed send (see `settle`).
 */
function createSentRecorder(markSent: (sent: SentRecord[]) => Promise<void>) {
  const write = async (sent: SentRecord[]): Promise<void> => {
    let failures = 0;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await markSent(sent);
        return;
      } catch (err) {
        if (!isUnavailable(err) && ++failures >= RECORD_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  const writeEach = async (sent: SentRecord[]): Promise<Array<undefined | Error>> => {
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
  const recorder = createBatcher<SentRecord, undefined>(writeEach, {
    maxSize: Number.POSITIVE_INFINITY,
    maxConcurrent: 1,
    startWhenIdle: true,
  });
  return (sent: SentRecord) => recorder.submit(sent);
}

/**
 * The delivery engine: sends batches of planned deliveries over a channel. Deliveries are claimed
 * a few at a time right before their messages go out, under a token only this batch holds, and
 * each is settled from its channel's outcome as soon as it is known (accepted ones together with
 * any others accepted meanwhile), so a batch run twice (a stalled job, a retry, the sweeper)
 * sends each message once; only a crash between the channel's acceptance and the commit can
 * repeat one, with the same message id.
 */
export function createDeliveryEngine<M extends { id: number }>(deps: EngineDeps<M>) {
  const { store, channel, log } = deps;
  const recordSent = createSentRecorder((sent) => store.markSent(sent));

  /** Settles one claimed delivery from its channel's outcome, under its batch's token. */
  async function settle(claimed: Claimed<M>, outcome: Outcome, batch: Batch): Promise<void> {
    const { id } = claimed.message;
    const { reply } = outcome;
    const { token, now, report } = batch;
    const retryAt = () => new Date(now.getTime() + retryDelayMs(deps.retry, claimed.attempts));
    switch (outcome.kind) {
      case 'sent':
        // The channel has accepted the message: from here on nothing may count as a failed send,
        // or the retry would send it again. A record that cannot be written leaves the delivery in
        // `sending`; once its lease has run out it is sent again, with the same message id.
        try {
          await recordSent({ id, messageId: outcome.messageId, reply, token });
        } catch (e) {
          report.unrecorded++;
          log.error(
            { delivery: id, messageId: outcome.messageId, err: e },
            'message accepted but not recorded as sent: left in sending, to be sent again with the same message id after its lease',
          );
        }
        report.sent++;
        return;
      case 'address-gone':
        await store.markBounced(id, reply, token);
        report.bounced++;
        log.warn({ delivery: id, response: reply }, 'delivery bounced; address suppressed');
        return;
      case 'message-refused':
        await store.markRefused(id, reply, token);
        report.refused++;
        log.warn({ delivery: id, response: reply }, 'message refused by the server; the address keeps its next one');
        return;
      case 'channel-down':
        await store.markChannelDown(id, reply, retryAt(), token);
        report.relayDown++;
        report.relayReply = reply;
        report.deferred.push(id);
        log.warn({ delivery: id, err: reply }, 'delivery not sent: the relay failed');
        return;
      case 'retry-later':
        await store.markDeferred(id, reply, batch.lastAttempt ? null : retryAt(), token);
        if (batch.lastAttempt) report.failed++;
        else report.deferred.push(id);
        log.warn({ delivery: id, err: reply, lastAttempt: batch.lastAttempt }, 'delivery not sent');
        return;
    }
  }

  /**
   * Settles deliveries owed no message: claimed like any other (so a batch run twice records each
   * once), then recorded as delivered, with no message id. Returns how many this batch recorded.
   */
  async function publish(messages: M[]): Promise<number> {
    const token = randomUUID();
    const claimed = await store.claim(
      messages.map((m) => m.id),
      deps.leaseSeconds,
      token,
    );
    const ids = [...claimed.keys()];
    if (ids.length) await store.markSent(ids.map((id) => ({ id, messageId: null, reply: null, token })));
    return ids.length;
  }

  return {
    /**
     * Sends what is still owed of `ids`. `now` is the planner's clock (for the maximum age and the
     * links); `signal` stops it between messages, leaving the rest owed for another worker.
     */
    async sendBatch(
      ids: number[],
      opts: { now: Date; lastAttempt?: boolean; signal?: AbortSignal },
    ): Promise<SendReport> {
      const report: SendReport = {
        sent: 0,
        published: 0,
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
      let owed = await store.loadOwed(ids);
      if (owed.length + report.stale < ids.length) {
        // Some are owed to a recipient who has left since: settled now, not left owed to nobody.
        await store.settleLeft(ids, deps.leaseSeconds);
      }
      report.notOwed += ids.length - owed.length - report.stale;
      const quiet = deps.withoutChannel;
      if (quiet && owed.some(quiet)) {
        report.published = await publish(owed.filter(quiet));
        report.notOwed += owed.filter(quiet).length - report.published;
        owed = owed.filter((m) => !quiet(m));
      }
      if (!owed.length) return report;
      const gate = await deps.breaker.gate();
      if (gate.kind === 'wait') {
        Object.assign(report, { relayPaused: true, resumeAt: gate.until, relayReply: gate.reply });
        report.released = owed.length;
        return report;
      }
      // This batch's claims carry one token; only it can settle what they take.
      const batch: Batch = { token: randomUUID(), now: opts.now, lastAttempt: opts.lastAttempt ?? false, report };
      // Deliveries are claimed a lane's worth at a time, just before they are sent, so a worker
      // that dies holds only that many in `sending` until their lease runs out.
      const lanes = Math.max(1, deps.concurrency ?? 8);
      const claimed: Claimed<M>[] = [];
      let next = 0;
      let claiming: Promise<void> | undefined;
      const claimMore = async () => {
        const chunk = owed.slice(next, next + lanes);
        next += chunk.length;
        const attempts = await store.claim(
          chunk.map((m) => m.id),
          deps.leaseSeconds,
          batch.token,
        );
        for (const message of chunk) {
          const a = attempts.get(Number(message.id));
          if (a === undefined) report.notOwed++;
          else claimed.push({ message, attempts: a });
        }
      };
      // A lane with nothing to send waits for a claim in flight (another lane's) before giving up,
      // so the last chunk of a batch is still sent by every lane.
      const take = async () => {
        for (;;) {
          const c = claimed.shift();
          if (c) return c;
          if (!claiming) {
            if (next >= owed.length) return undefined;
            claiming = claimMore().finally(() => {
              claiming = undefined;
            });
          }
          await claiming;
        }
      };
      // A channel that fails message after message (its relay refusing the sender, rejecting the
      // login) would fail the rest alike: the batch stops, leaving the rest owed, rather than
      // trying each one.
      let relayStreak = 0;
      let tried = 0;
      const relayBroken = () => relayStreak >= RELAY_FAILURES_TO_PAUSE;
      const sendNext = async () => {
        const c = await take();
        if (!c) return false;
        const outcome = await channel.send(c.message, opts.now);
        await settle(c, outcome, batch);
        tried++;
        relayStreak = outcome.kind === 'channel-down' ? relayStreak + 1 : 0;
        return true;
      };
      // The breaker is open and this batch probes: one message alone first. Unless the channel
      // fails it its way again, the breaker closes and the batch goes on as usual.
      if (gate.kind === 'probe' && (await sendNext())) {
        if (relayStreak > 0) relayStreak = RELAY_FAILURES_TO_PAUSE;
        else if (await deps.breaker.reset()) log.info('the channel accepts messages again; sending resumes');
      }
      await Promise.all(
        Array.from({ length: Math.min(lanes, owed.length) }, async () => {
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
          'the relay refuses: sending paused until a probe gets through',
        );
      }
      if (claimed.length) {
        await store.release(
          claimed.map((c) => c.message.id),
          batch.token,
        );
      }
      report.released = claimed.length + owed.length - next;
      return report;
    },
  };
}

export type DeliveryEngine = ReturnType<typeof createDeliveryEngine>;
