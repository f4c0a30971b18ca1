import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { Invalid } from '../core/errors.ts';
import { createSubscriberRepository, SUPPRESSION_REASONS, type SuppressionReason } from './repository.ts';
import { Email } from './schemas.ts';

/**
 * The addresses Paperboy will not mail: suppressing those a mail provider reports as bounced or
 * complaining; and for an operator, what stopped each one (the SMTP reply, the provider's report,
 * an erasure), and lifting those a mistake caused, such as a relay that refused every recipient
 * for a while.
 */
export function createSuppressionService({ db, clock }: { db: Db; clock: Clock }) {
  const repo = createSubscriberRepository(db);
  return {
    /**
     * A bounce or complaint a provider reported after the SMTP exchange: the address gets no more
     * mail, at once. Returns whether it was a subscriber's.
     */
    report: (email: string, type: 'bounce' | 'complaint', detail: string) =>
      repo.suppress(email, type === 'bounce' ? 'bounced' : 'complaint', detail),

    list: (filter: { reason?: SuppressionReason; since?: Date; limit?: number } = {}) =>
      repo.listSuppressions({ ...filter, limit: filter.limit ?? 1000 }),

    /** Lifts one address's suppression, or every one of a reason (since a time). */
    async lift(which: { email: string } | { reason: SuppressionReason; since?: Date }) {
      if ('email' in which) {
        const email = Email.safeParse(which.email);
        if (!email.success) throw new Invalid(`not an email address: ${which.email}`);
        return repo.liftSuppressions({ email: email.data }, clock.now());
      }
      return repo.liftSuppressions(which, clock.now());
    },
  };
}

export { SUPPRESSION_REASONS, type SuppressionReason };

export type SuppressionService = ReturnType<typeof createSuppressionService>;
