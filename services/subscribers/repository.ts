import type { Queryable } from '../core/db.ts';
import { loadQueries } from '../core/sql.ts';

const sql = loadQueries(new URL('./subscribers.sql', import.meta.url), [
  'upsert-signup',
  'find-by-email',
  'find-by-id',
  'mark-confirmation-sent',
  'activate',
  'unsubscribe',
  'cancel-queued-deliveries',
]);

export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed' | 'bounced';

export interface Subscriber {
  id: number;
  email: string;
  status: SubscriberStatus;
  timezone: string;
  send_hour: number;
  frequency: 'daily' | 'weekly';
  send_weekday: number;
  max_papers: number;
  topics: string[];
  next_send_at: Date | null;
  confirm_sent_at: Date | null;
  confirmed_at: Date | null;
}

export interface NewSignup {
  email: string;
  timezone: string;
  hour: number;
  frequency: 'daily' | 'weekly';
  weekday: number;
  maxPapers: number;
  topics: string[];
}

export function createSubscriberRepository(db: Queryable) {
  return {
    /** Returns the subscriber id and whether the address was already an active subscriber. */
    async upsertSignup(s: NewSignup): Promise<{ id: number; alreadyActive: boolean }> {
      const res = await db.query<{ id: number }>(sql['upsert-signup'], [
        s.email,
        s.timezone,
        s.hour,
        s.frequency,
        s.weekday,
        s.maxPapers,
        s.topics,
      ]);
      const row = res.rows[0];
      if (row) return { id: row.id, alreadyActive: false };
      const existing = (await db.query<{ id: number }>(sql['find-by-email'], [s.email])).rows[0];
      if (!existing) throw new Error(`signup for ${s.email} neither inserted nor found`);
      return { id: existing.id, alreadyActive: true };
    },
    async findById(id: number): Promise<Subscriber | undefined> {
      return (await db.query<Subscriber>(sql['find-by-id'], [id])).rows[0];
    },
    async markConfirmationSent(id: number, at: Date) {
      await db.query(sql['mark-confirmation-sent'], [id, at]);
    },
    async activate(id: number, at: Date): Promise<{ id: number; email: string; next_send_at: Date } | undefined> {
      return (await db.query<{ id: number; email: string; next_send_at: Date }>(sql.activate, [id, at])).rows[0];
    },
    async unsubscribe(id: number, at: Date): Promise<boolean> {
      const res = await db.query(sql.unsubscribe, [id, at]);
      if (res.rowCount) await db.query(sql['cancel-queued-deliveries'], [id, 'unsubscribed']);
      return (res.rowCount ?? 0) > 0;
    },
  };
}

export type SubscriberRepository = ReturnType<typeof createSubscriberRepository>;
