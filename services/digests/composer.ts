import type { Db } from '../core/db.ts';
import { NotFound } from '../core/errors.ts';
import { previewPicks, rankSince } from '../papers/ranking.ts';
import { createSubscriberRepository } from '../subscribers/repository.ts';
import { Email } from '../subscribers/schemas.ts';
import { digestSql as sql } from './queries.ts';

/**
 * What goes into a subscriber's digest. The planner records picks as it plans; this answers the
 * operator's question "what would this person get, and why?" without recording anything.
 */
export function createComposer({ db, rankWindowDays }: { db: Db; rankWindowDays: number }) {
  const subscribers = createSubscriberRepository(db);
  return {
    async preview(email: string, at: Date) {
      const s = await subscribers.findByEmail(Email.parse(email));
      if (!s) throw new NotFound(`no subscriber with the address ${email}`);
      const since = rankSince(at, rankWindowDays);
      const alreadySent = (await db.query<{ n: number }>(sql['count-sent-papers'], [s.id])).rows[0]?.n ?? 0;
      return {
        email: s.email,
        status: s.status,
        topics: s.topics,
        maxPapers: s.max_papers,
        since,
        alreadySent,
        picks: await previewPicks(db, s.id, since),
      };
    },
  };
}
