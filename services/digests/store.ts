import type { Queryable } from '../core/db.ts';
import { loadQueries } from '../core/sql.ts';
import type { SentRecord } from '../delivery/engine.ts';
import type { CitationRow } from '../papers/bibtex.ts';
import type { PaperFacts } from '../papers/presentation.ts';
import type { DigestContent, DigestPaper } from './renderer.ts';

/**
 * The digests' data access: the one module that writes `deliveries` and `delivery_papers`
 * (digests.sql) and reads them for planning, sending, sweeping and a digest's web version (the
 * operator's reports over them are the ops read model's, services/ops/). Rows are mapped to the
 * types below here and nowhere else.
 */
const sql = loadQueries(new URL('./digests.sql', import.meta.url), [
  'claim-due-subscribers',
  'count-due-subscribers',
  'plan-deliveries',
  'load-deliveries',
  'load-papers',
  'load-citations',
  'claim-deliveries',
  'release-deliveries',
  'skip-stale-deliveries',
  'settle-left-deliveries',
  'find-owed-deliveries',
  'mark-sent',
  'mark-deferred',
  'mark-relay-down',
  'mark-refused',
  'mark-bounced',
  'count-sent-papers',
]);

/** A planned digest as it is sent: its reader, their schedule and link epoch, and its papers in order. */
export interface DigestDelivery {
  id: number;
  /** A digest of papers, or the note that there was nothing new for its reader (no papers). */
  kind: DeliveryKind;
  digestDate: string;
  subscriberId: number;
  email: string;
  frequency: DigestContent['frequency'];
  sendHour: number;
  sendWeekday: number;
  timezone: string;
  /** The subscriber's link epoch: the digest's preferences and web-version links are signed in it. */
  tokenEpoch: number;
  /** How the reader reads their digests: a feed-only one is delivered without a mail. */
  delivery: 'email' | 'feed' | 'both';
  /** When their next digest is due (the note says so). */
  nextSendAt: Date | null;
  /** Whether the reader chose topics (the note says "your topics" or "the trending list"). */
  hasTopics: boolean;
  papers: DigestPaper[];
}

export type DeliveryKind = 'digest' | 'nothing_new';

/** A delivery owed no mail: a digest its reader reads only in their feed. */
export const feedOnly = (d: Pick<DigestDelivery, 'kind' | 'delivery'>) => d.kind === 'digest' && d.delivery === 'feed';

/** A subscriber whose digest the planner claimed. */
export interface DueSubscriber {
  id: number;
  /** The local day the digest belongs to (YYYY-MM-DD). */
  digestDate: string;
  /** When it was due: the latest scheduled time, from which its maximum age counts. */
  dueAt: Date;
  /** The subscriber's next_send_at before the claim: where the planning run's cursor goes. */
  wasDue: Date;
}

/** What a batch's planning recorded: a delivery, queued to send or skipped. */
export interface PlannedDelivery {
  id: number;
  status: 'queued' | 'skipped';
}

interface DeliveryRecord {
  id: number;
  kind: DeliveryKind;
  digest_date: string;
  subscriber_id: number;
  email: string;
  frequency: DigestContent['frequency'];
  send_hour: number;
  send_weekday: number;
  timezone: string;
  token_epoch: number;
  delivery: DigestDelivery['delivery'];
  next_send_at: Date | null;
  has_topics: boolean;
  paper_ids: string[];
  positions: number[];
  reasons: string[];
}

/** A paper as load-papers reads it: what a digest shows, and its id as text (`key`), as the delivery rows hold it. */
type PaperRecord = PaperFacts & { key: string };

/**
 * The store over `db`: the pool, or the planner's transaction. It is also the delivery engine's
 * store (services/delivery/engine.ts), so every write to a claimed delivery carries its token.
 */
export function createDigestStore(db: Queryable) {
  /**
   * The deliveries of `ids` with their papers, ready to render: those still owed, or all of them
   * with `anyState` (a digest's web version). Each paper is read once however many digests carry it.
   */
  async function load(ids: number[], anyState: boolean): Promise<DigestDelivery[]> {
    const records = (await db.query<DeliveryRecord>(sql['load-deliveries'], [ids, anyState])).rows;
    const paperIds = [...new Set(records.flatMap((r) => r.paper_ids))];
    const rows = (await db.query<PaperRecord>(sql['load-papers'], [paperIds])).rows;
    const papers = new Map(rows.map(({ key, ...p }) => [key, p]));
    return records.map((r) => ({
      id: r.id,
      kind: r.kind,
      digestDate: r.digest_date,
      subscriberId: r.subscriber_id,
      email: r.email,
      frequency: r.frequency,
      sendHour: r.send_hour,
      sendWeekday: r.send_weekday,
      timezone: r.timezone,
      tokenEpoch: r.token_epoch,
      delivery: r.delivery,
      nextSendAt: r.next_send_at,
      hasTopics: r.has_topics,
      papers: r.paper_ids.flatMap((id, i) => {
        const p = papers.get(id);
        return p ? [{ ...p, position: r.positions[i] ?? i + 1, reason: r.reasons[i] ?? '' }] : [];
      }),
    }));
  }

  const settleLeft = async (ids: number[] | null, leaseSeconds: number) => {
    await db.query(sql['settle-left-deliveries'], [ids, leaseSeconds]);
  };

  return {
    load,

    // --- planning, inside the planner's transaction ---------------------------------------------

    /**
     * Locks up to `limit` subscribers due at `at`, after the run's cursor `after`, and moves their
     * next send time on.
     */
    async claimDue(at: Date, limit: number, after?: { nextSendAt: Date; id: number }): Promise<DueSubscriber[]> {
      const { rows } = await db.query<{ id: number; digest_date: string; due_at: Date; was_due: Date }>(
        sql['claim-due-subscribers'],
        [at, limit, after?.nextSendAt ?? null, after?.id ?? null],
      );
      return rows.map((r) => ({ id: r.id, digestDate: r.digest_date, dueAt: r.due_at, wasDue: r.was_due }));
    },

    /**
     * Records the digests of `due`: papers picked among those news `since`, from the lists the
     * planning run `runId` remembered; too late (`maxAgeSeconds` before `at`) or empty ones skipped.
     */
    async recordPlans(plan: {
      due: DueSubscriber[];
      since: Date;
      runId?: string;
      at: Date;
      maxAgeSeconds: number;
      /** Picks made by the planner's personal path, by subscriber: those subscribers get these. */
      personal?: ReadonlyMap<number, readonly { paperId: number; place: number; reason: string }[]>;
    }): Promise<PlannedDelivery[]> {
      const personal: NonNullable<typeof plan.personal> = plan.personal ?? new Map();
      const record = {
        due: plan.due.map((d) => ({ id: d.id, day: d.digestDate, due: d.dueAt })),
        since: plan.since,
        runId: plan.runId ?? null,
        at: plan.at,
        maxAgeSeconds: plan.maxAgeSeconds,
        personal: [...personal.keys()],
        picks: [...personal].flatMap(([subscriberId, picks]) =>
          picks.map((p) => ({ subscriber_id: subscriberId, paper_id: p.paperId, place: p.place, reason: p.reason })),
        ),
      };
      return (await db.query<PlannedDelivery>(sql['plan-deliveries'], [JSON.stringify(record)])).rows;
    },

    /** How many active subscribers are due at `at`. */
    async countDue(at: Date): Promise<number> {
      return (await db.query<{ n: number }>(sql['count-due-subscribers'], [at])).rows[0]?.n ?? 0;
    },

    // --- sending: the delivery engine's store ----------------------------------------------------

    async skipStale(ids: number[], maxAgeSeconds: number, now: Date): Promise<number> {
      return (await db.query(sql['skip-stale-deliveries'], [ids, maxAgeSeconds, now])).rowCount ?? 0;
    },
    loadOwed: (ids: number[]) => load(ids, false),
    settleLeft,
    async claim(ids: number[], leaseSeconds: number, token: string): Promise<Map<number, number>> {
      const { rows } = await db.query<{ id: number; attempts: number }>(sql['claim-deliveries'], [
        ids,
        leaseSeconds,
        token,
      ]);
      return new Map(rows.map((r) => [Number(r.id), r.attempts]));
    },
    async release(ids: number[], token: string): Promise<void> {
      await db.query(sql['release-deliveries'], [ids, token]);
    },
    async markSent(sent: SentRecord[]): Promise<void> {
      const records = sent.map((s) => ({
        id: s.id,
        message_id: s.messageId,
        response: s.reply,
        claim_token: s.token,
      }));
      await db.query(sql['mark-sent'], [JSON.stringify(records)]);
    },
    async markBounced(id: number, reply: string, token: string): Promise<void> {
      await db.query(sql['mark-bounced'], [id, reply, token]);
    },
    async markRefused(id: number, reply: string, token: string): Promise<void> {
      await db.query(sql['mark-refused'], [id, reply, token]);
    },
    async markChannelDown(id: number, reply: string, retryAt: Date, token: string): Promise<void> {
      await db.query(sql['mark-relay-down'], [id, reply, retryAt, token]);
    },
    async markDeferred(id: number, reply: string, retryAt: Date | null, token: string): Promise<void> {
      await db.query(sql['mark-deferred'], [id, reply, retryAt, token]);
    },

    // --- sweeping ---------------------------------------------------------------------------------

    /**
     * Deliveries owed but untouched for a while: queued more than `afterSeconds` (and past any
     * retry wait), or left in `sending` past the lease; at most `limit`, by id.
     */
    async findOwed(afterSeconds: number, leaseSeconds: number, limit: number): Promise<number[]> {
      const { rows } = await db.query<{ id: number }>(sql['find-owed-deliveries'], [afterSeconds, leaseSeconds, limit]);
      return rows.map((r) => r.id);
    },

    // --- reading ----------------------------------------------------------------------------------

    /** The papers of delivery `id`, in order, as its BibTeX cites them (arXiv id, categories, year). */
    async loadCitations(id: number): Promise<CitationRow[]> {
      return (await db.query<CitationRow>(sql['load-citations'], [id])).rows;
    },

    /** How many papers a subscriber has been sent, ever. */
    async countSentPapers(subscriberId: number): Promise<number> {
      return (await db.query<{ n: number }>(sql['count-sent-papers'], [subscriberId])).rows[0]?.n ?? 0;
    },

    /** PostgreSQL's plan for claiming `limit` subscribers due at `at`, without running it. */
    async explainClaimDue(at: Date, limit: number): Promise<string> {
      const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql['claim-due-subscribers']}`, [
        at,
        limit,
        null,
        null,
      ]);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    },
  };
}

export type DigestStore = ReturnType<typeof createDigestStore>;
