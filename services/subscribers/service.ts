import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import type { Queues } from '../core/queues.ts';
import type { Tokens } from '../core/tokens.ts';
import { createSubscriberRepository, type SubscriberStatus } from './repository.ts';
import { PREFERENCE_DEFAULTS, SignupInput } from './schemas.ts';

export type ConfirmOutcome = 'confirmed' | 'already-active' | 'not-pending';

export interface SubscriptionServiceDeps {
  db: Db;
  queues: Pick<Queues, 'add'>;
  tokens: Tokens;
  clock: Clock;
}

export function createSubscriptionService({ db, queues, tokens, clock }: SubscriptionServiceDeps) {
  const repo = createSubscriberRepository(db);

  return {
    /**
     * Records a signup and queues its confirmation mail. The outcome is the same whatever the
     * address's state, so the answer never tells whether an address is subscribed.
     */
    async signup(raw: unknown): Promise<void> {
      const input = SignupInput.parse(raw);
      const { id, alreadyActive } = await repo.upsertSignup({ ...PREFERENCE_DEFAULTS, ...stripUndefined(input) });
      if (alreadyActive) return;
      await queues.add(
        'mail',
        'confirmation',
        { subscriberId: id },
        { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } },
      );
    },

    async confirm(token: string): Promise<{ outcome: ConfirmOutcome; email?: string }> {
      const id = tokens.verify('confirm', token, clock.now());
      const activated = await repo.activate(id, clock.now());
      if (activated) return { outcome: 'confirmed', email: activated.email };
      const s = await repo.findById(id);
      return { outcome: s?.status === 'active' ? 'already-active' : 'not-pending' };
    },

    /** What the unsubscribe page shows before the button is pressed; changes nothing. */
    async describeUnsubscribe(token: string): Promise<{ email?: string; status?: SubscriberStatus }> {
      const s = await repo.findById(tokens.verify('unsubscribe', token, clock.now()));
      return { email: s?.email, status: s?.status };
    },

    /** Unsubscribes at once; doing it twice, or for a subscriber already gone, is not an error. */
    async unsubscribe(token: string): Promise<{ email?: string }> {
      const id = tokens.verify('unsubscribe', token, clock.now());
      return db.tx(async (client) => {
        const txRepo = createSubscriberRepository(client);
        await txRepo.unsubscribe(id, clock.now());
        return { email: (await txRepo.findById(id))?.email };
      });
    },
  };
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
