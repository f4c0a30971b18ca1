import { createBatcher } from '../core/batcher.ts';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { Invalid, type TooManyRequests } from '../core/errors.ts';
import type { Queues } from '../core/queues.ts';
import type { Limit, RateLimiter, Rule } from '../core/rate-limit.ts';
import type { Tokens } from '../core/tokens.ts';
import { createSubscriberRepository, type Preferences } from './repository.ts';
import { isBlockedDomain, mergePreferences, PREFERENCE_DEFAULTS, type SignupInput } from './schemas.ts';

export type ConfirmOutcome = 'confirmed' | 'already-active' | 'not-pending';

const SIGNUP_MAIL_JOB = { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } };

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
  queues: Pick<Queues, 'add'>;
  tokens: Tokens;
  clock: Clock;
  limiter: RateLimiter;
  limits: { perIp: Limit; perAddress: Limit };
  blockedDomains: ReadonlySet<string>;
}

export function createSignupService(deps: SignupServiceDeps) {
  const { db, queues, tokens, clock, limiter, limits } = deps;
  const repo = createSubscriberRepository(db);

  // Each signup counts against its network, then its address.
  const rules: Rule[] = [
    { scope: 'signup-ip', limit: limits.perIp, message: 'Too many signups from your network. Try again later.' },
    {
      scope: 'signup-address',
      limit: limits.perAddress,
      message: 'Too many signups for this address. Try again later.',
    },
  ];

  /** Counts a batch against the limits, records what they let through and queues its reply mails. */
  async function record(signups: Signup[]): Promise<Array<TooManyRequests | undefined>> {
    const refused = await limiter.hitEach(
      rules,
      signups.map(({ ip, email }) => [ip, email]),
    );
    // One row per address: the batch's last signup for an address wins, as it would one after another.
    const latest = new Map(signups.filter((_, i) => !refused[i]).map((s) => [s.email, s.prefs]));
    if (latest.size > 0) {
      const ids = await repo.upsertSignups([...latest].map(([email, prefs]) => ({ email, prefs })));
      await queues.add('mail', 'signup', { subscriberIds: [...new Set(ids.values())] }, SIGNUP_MAIL_JOB);
    }
    return refused;
  }
  const recorder = createBatcher(record, SIGNUP_BATCH);

  return {
    /**
     * Records a signup and queues the reply mail. Every address takes the same path (the same
     * queries, the same answer) whether it is new, pending, active or unsubscribed; the worker
     * decides what the mail says, so the answer never tells whether an address is subscribed.
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
     * Queues the reply mail of pending signups that never got one: the signup was recorded but the
     * queue was unreachable. Run by the sweeper; the job id keeps one sweep from queueing a mail twice.
     */
    async sweepUnsent(now: Date, olderThanSeconds: number): Promise<number> {
      const ids = await repo.findUnsentSignups(olderThanSeconds, 1000);
      const window = Math.floor(now.getTime() / 1000 / olderThanSeconds);
      for (const id of ids) {
        await queues.add(
          'mail',
          'signup',
          { subscriberIds: [id] },
          { ...SIGNUP_MAIL_JOB, jobId: `signup_${id}_${window}` },
        );
      }
      return ids.length;
    },

    async confirm(token: string): Promise<ConfirmOutcome> {
      const id = tokens.verify('confirm', token, clock.now());
      if (await repo.activate(id, clock.now())) return 'confirmed';
      return (await repo.findById(id))?.status === 'active' ? 'already-active' : 'not-pending';
    },
  };
}

export type SignupService = ReturnType<typeof createSignupService>;
