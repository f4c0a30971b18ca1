import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createBatcher } from '../core/batcher.ts';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { Invalid, type TooManyRequests } from '../core/errors.ts';
import { networkOf } from '../core/networks.ts';
import type { Queues } from '../core/queues.ts';
import type { Limit, RateLimiter, Rule } from '../core/rate-limit.ts';
import type { Tokens } from '../core/tokens.ts';
import { mergePreferences, PREFERENCE_DEFAULTS, PreferenceFields, type Preferences } from './preferences.ts';
import { awaitsConfirmation, createSubscriberRepository } from './repository.ts';
import { Email, isBlockedDomain, mailboxKey } from './schemas.ts';

/** A signup as a request gives it: the address, and any preferences (the rest take their defaults). */
export const SignupInput = z.object({ email: Email, ...PreferenceFields }).strict();
export type SignupInput = z.infer<typeof SignupInput>;

/**
 * What a confirmation link finds (`pending`: the page offers its button) or did: an address that
 * bounced or complained is not confirmed (`suppressed`), whatever link it holds.
 */
export type ConfirmOutcome = 'confirmed' | 'already-active' | 'not-pending' | 'suppressed';
export type ConfirmState = Exclude<ConfirmOutcome, 'confirmed'> | 'pending';

const SIGNUP_MAIL_JOB = { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } };

/**
 * A confirmation the sweeper queues again gets one try: the sweeper is the slow retry loop, a round
 * every SWEEP_AFTER_SECONDS, and the signup's own job already spent its quick retries.
 */
const SWEPT_MAIL_JOB = { attempts: 1 };

/** Owed confirmations the sweeper looks at per sweep, and per job it queues. */
const SWEEP_LIMIT = 1000;
const SWEEP_JOB_SIZE = 200;

/** Job states from which a job may still send its mails. */
const DONE_STATES = new Set(['completed', 'failed', 'unknown']);

/** A job id of the mail queue: unique, and without ':', which BullMQ does not allow in custom ids. */
const mailJobId = () => `signup_${randomUUID()}`;

/**
 * Signups are recorded in batches (see core/batcher.ts): under load, one rate-limit round trip,
 * one PostgreSQL statement and one queued job serve every signup that arrived in the same turn of
 * the event loop, instead of one of each per signup. Four batches in flight overlap the round
 * trips of one with the statement of another.
 */
const SIGNUP_BATCH = { maxSize: 200, maxConcurrent: 4 };

interface Signup {
  email: string;
  prefs: Preferences;
  ip: string;
}

export interface SignupServiceDeps {
  db: Db;
  queues: Pick<Queues, 'add' | 'get'>;
  tokens: Tokens;
  clock: Clock;
  limiter: RateLimiter;
  limits: { perIp: Limit; perAddress: Limit; global: Limit };
  blockedDomains: ReadonlySet<string>;
}

export function createSignupService(deps: SignupServiceDeps) {
  const { db, queues, tokens, clock, limiter, limits } = deps;
  const repo = createSubscriberRepository(db);

  // Each signup counts against its network (an IPv6 client's /64), then its mailbox (however the
  // address is spelled), then everyone's: a signup refused by the first two does not use up the
  // ceiling, which bounds the mail that any number of networks together can make Paperboy send.
  const rules: Rule[] = [
    { scope: 'signup-ip', limit: limits.perIp, message: 'Too many signups from your network. Try again later.' },
    {
      scope: 'signup-address',
      limit: limits.perAddress,
      message: 'Too many signups for this address. Try again later.',
    },
    {
      scope: 'signup-all',
      limit: limits.global,
      message: 'Paperboy is taking too many signups right now. Try again later.',
    },
  ];

  /** Counts a batch against the limits, records what they let through and queues its reply mails. */
  async function record(signups: Signup[]): Promise<Array<TooManyRequests | undefined>> {
    const refused = await limiter.hitEach(
      rules,
      signups.map(({ ip, email }) => [networkOf(ip), mailboxKey(email), 'all']),
    );
    // One row per address: the batch's first signup for an address stands, as it would one after
    // another (a later signup never changes what an earlier one stored).
    const first = new Map<string, Preferences>();
    signups.forEach((s, i) => {
      if (!refused[i] && !first.has(s.email)) first.set(s.email, s.prefs);
    });
    if (first.size > 0) {
      // The rows name their job before it exists: if queueing fails, the sweeper finds no such job
      // and queues the confirmations itself.
      const jobId = mailJobId();
      const ids = await repo.upsertSignups(
        [...first].map(([email, prefs]) => ({ email, prefs })),
        { job: jobId, queuedAt: clock.now() },
      );
      await queues.add('mail', 'signup', { subscriberIds: [...new Set(ids.values())] }, { ...SIGNUP_MAIL_JOB, jobId });
    }
    return refused;
  }
  const recorder = createBatcher(record, SIGNUP_BATCH);

  async function stateOf(id: number): Promise<ConfirmState> {
    const s = await repo.findById(id);
    if (s?.status === 'active') return 'already-active';
    if (!s || !awaitsConfirmation(s)) return 'not-pending';
    const reason = await repo.suppressionOf(s.email);
    return reason === 'bounced' || reason === 'complaint' ? 'suppressed' : 'pending';
  }

  return {
    /**
     * Records a signup and queues the reply mail. Every address takes the same path (the same
     * queries, the same answer) whether it is new, pending, active or unsubscribed; the worker
     * decides what the mail says, so the answer never tells whether an address is subscribed. A
     * signup never changes an existing subscriber's preferences or status (anyone can type any
     * address): see upsert-signups in subscribers.sql.
     * Resolves once the signup is stored and its mail queued. `input` is what the routes' schema
     * validated (and normalised), so a malformed request never reaches a batch.
     */
    async signup(input: SignupInput, ip: string): Promise<void> {
      const { email, ...prefs } = input;
      if (isBlockedDomain(email, deps.blockedDomains)) {
        throw new Invalid('Addresses at this domain are not accepted.', 'blocked_domain');
      }
      await recorder.submit({ email, ip, prefs: mergePreferences(PREFERENCE_DEFAULTS, prefs) });
    },

    /**
     * Queues again the confirmations still owed whose job is gone: it was never queued (Redis was
     * unreachable), lost with Redis, or failed its last try on a temporary or relay failure. A
     * confirmation whose job still waits or runs, however slow the queue, is left to it and looked
     * at again after `olderThanSeconds`; one given up is never taken. Run by the sweeper; returns
     * how many confirmations it queued.
     */
    async sweepUnsent(now: Date, olderThanSeconds: number, limit = SWEEP_LIMIT): Promise<number> {
      const owed = await repo.findOwedConfirmations(now, olderThanSeconds, limit);
      const jobs = [...new Set(owed.flatMap((r) => (r.confirm_job ? [r.confirm_job] : [])))];
      const mail = queues.get('mail');
      const states = await Promise.all(jobs.map((j) => mail.getJobState(j)));
      const waiting = new Set(jobs.filter((_, i) => !DONE_STATES.has(states[i] as string)));
      const [stillQueued, gone] = partition(owed, (r) => r.confirm_job !== null && waiting.has(r.confirm_job));
      await repo.touchQueuedConfirmations(
        stillQueued.map((r) => r.id),
        now,
      );
      let queuedAgain = 0;
      for (let i = 0; i < gone.length; i += SWEEP_JOB_SIZE) {
        const jobId = mailJobId();
        const ids = await repo.claimOwedConfirmations(gone.slice(i, i + SWEEP_JOB_SIZE), jobId, now);
        if (ids.length) await queues.add('mail', 'signup', { subscriberIds: ids }, { ...SWEPT_MAIL_JOB, jobId });
        queuedAgain += ids.length;
      }
      return queuedAgain;
    },

    /** What the confirmation link would do, for its page; changes nothing (mail scanners GET links). */
    async confirmation(token: string): Promise<ConfirmState> {
      return stateOf(tokens.verify('confirm', token, clock.now()));
    },

    /** Confirms: the page's button, a POST. */
    async confirm(token: string): Promise<ConfirmOutcome> {
      const id = tokens.verify('confirm', token, clock.now());
      if (await repo.activate(id, clock.now())) return 'confirmed';
      const state = await stateOf(id);
      return state === 'pending' ? 'not-pending' : state;
    },
  };
}

export type SignupService = ReturnType<typeof createSignupService>;

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
