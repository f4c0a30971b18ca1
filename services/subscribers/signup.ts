import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { Invalid } from '../core/errors.ts';
import type { Queues } from '../core/queues.ts';
import type { Limit, RateLimiter } from '../core/rate-limit.ts';
import type { Tokens } from '../core/tokens.ts';
import { createSubscriberRepository } from './repository.ts';
import { isBlockedDomain, mergePreferences, PREFERENCE_DEFAULTS, SignupInput } from './schemas.ts';

export type ConfirmOutcome = 'confirmed' | 'already-active' | 'not-pending';

const SIGNUP_MAIL_JOB = { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } };

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

  return {
    /**
     * Records a signup and queues the reply mail. Every address takes the same path (the same
     * queries, the same answer) whether it is new, pending, active or unsubscribed; the worker
     * decides what the mail says, so the answer never tells whether an address is subscribed.
     */
    async signup(raw: unknown, ip: string): Promise<void> {
      // Validation first: malformed requests cost no Redis round trip. Both limits in one.
      const { email, ...prefs } = SignupInput.parse(raw);
      if (isBlockedDomain(email, deps.blockedDomains)) {
        throw new Invalid('Addresses at this domain are not accepted.', 'blocked_domain');
      }
      await limiter.hit(
        {
          scope: 'signup-ip',
          key: ip,
          limit: limits.perIp,
          message: 'Too many signups from your network. Try again later.',
        },
        {
          scope: 'signup-address',
          key: email,
          limit: limits.perAddress,
          message: 'Too many signups for this address. Try again later.',
        },
      );
      const id = await repo.upsertSignup(email, mergePreferences(PREFERENCE_DEFAULTS, prefs));
      await queues.add('mail', 'signup', { subscriberId: id }, SIGNUP_MAIL_JOB);
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
          { subscriberId: id },
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
