import { randomUUID } from 'node:crypto';
import type { Db } from '../core/db.ts';
import { rankSince } from '../papers/ranking.ts';
import { createPaperRepository } from '../papers/repository.ts';
import { createPersonalPlanning } from './personal.ts';
import { createDigestStore } from './store.ts';

export interface PlannedBatch {
  /** Subscribers whose digest was due and whose next send time moved on. */
  claimed: number;
  /** Deliveries with papers, owed a send. */
  queued: number[];
  /** Deliveries with nothing new to send, recorded as skipped. */
  skipped: number;
  /** Where the batch ended in (next_send_at, id) order: the next batch of the same run starts after it. */
  last?: Cursor;
}

export interface Cursor {
  nextSendAt: Date;
  id: number;
}

/**
 * Plans due digests one batch per transaction: claim due subscribers (advancing next_send_at),
 * pick their papers and write one delivery per (subscriber, local day) with them, commit. Jobs are
 * enqueued only after the commit, so Redis never carries work PostgreSQL does not know about.
 */
export interface PlannerOptions {
  db: Db;
  batchSize: number;
  rankWindowDays: number;
  /** A digest due longer ago than this is recorded as skipped instead of sent late. */
  maxAgeSeconds: number;
}

export function createPlanner({ db, batchSize, rankWindowDays, maxAgeSeconds }: PlannerOptions) {
  const personal = createPersonalPlanning();
  /** One batch; `runId` names the planning run whose ranked lists it may reuse and add to. */
  async function planBatch(at: Date, after?: Cursor, runId?: string): Promise<PlannedBatch> {
    return db.tx(async (client) => {
      const store = createDigestStore(client);
      const due = await store.claimDue(at, batchSize, after);
      if (due.length === 0) return { claimed: 0, queued: [], skipped: 0 };
      const lastRow = due.reduce((a, b) =>
        a.wasDue < b.wasDue || (a.wasDue.getTime() === b.wasDue.getTime() && a.id < b.id) ? b : a,
      );
      const last = { nextSendAt: lastRow.wasDue, id: lastRow.id };
      const since = rankSince(at, rankWindowDays);
      // Lists for every claimed subscriber's topics; recordPlans decides who is too late.
      if (runId)
        await createPaperRepository(client).rememberRankedLists(
          runId,
          due.map((r) => r.id),
          since,
        );
      // Readers who voted, follow someone or exclude a term get their picks from relevance.
      const picks = await personal.pick(
        client,
        due.map((r) => r.id),
        { since, runId },
      );
      const planned = await store.recordPlans({ due, since, runId, at, maxAgeSeconds, personal: picks });
      const queued = planned
        .filter((r) => r.status === 'queued')
        .map((r) => r.id)
        .sort((a, b) => a - b);
      return { claimed: due.length, queued, skipped: planned.length - queued.length, last };
    });
  }

  return {
    planBatch,
    /** Plans every digest due at `at`, handing each committed batch to `onBatch`. */
    async planAll(at: Date, onBatch: (b: PlannedBatch) => Promise<void>) {
      const total = { claimed: 0, queued: 0, skipped: 0 };
      const runId = randomUUID();
      let after: Cursor | undefined;
      try {
        for (;;) {
          const b = await planBatch(at, after, runId);
          after = b.last;
          if (b.claimed === 0) return total;
          total.claimed += b.claimed;
          total.queued += b.queued.length;
          total.skipped += b.skipped;
          await onBatch(b);
        }
      } finally {
        personal.forget(runId);
        // Dropping a cache must not hide the error that ended the run; old lists are purged anyway.
        await createPaperRepository(db)
          .forgetRankedLists(runId)
          .catch(() => {});
      }
    },
  };
}

export type Planner = ReturnType<typeof createPlanner>;

/** A batch's job id: the same batch enqueued twice is one job. */
export const sendJobId = (ids: number[]) => `send_${ids[0]}_${ids.at(-1)}_${ids.length}`;
