import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../services/core/db.ts';
import { migrate } from '../services/core/migrate.ts';
import { listReason, rankedList, walkList } from '../services/relevance/order.ts';
import { createScratchDatabase } from './support/servers.ts';

/**
 * services/relevance/order.ts is today's order: for random papers, topics, trend scores (with
 * ties), papers sent before and list caps, it picks what paperboy_pick_for picks on PostgreSQL,
 * in the same order with the same reasons, given the topic matches the database finds.
 */

const WORDS = ['lora', 'adapters', 'retrieval', 'retrieve', 'in-context', 'learning', 'vision', 'the', 'prompt'];
const TOPICS = [
  'lora',
  'retrieval',
  'in-context learning',
  'prompt tuning',
  'vision',
  'the',
  '"low rank"',
  'lora -adapters',
  'retrieval or vision',
];

const scenario = fc.record({
  papers: fc.array(
    fc.record({
      title: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 }),
      abstract: fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }),
      // Few values, so ties are common.
      trend: fc.integer({ min: 0, max: 6 }),
      reason: fc.constantFrom('', '+3 upvotes today', '#7 on the trending page'),
      stale: fc.boolean(),
    }),
    { minLength: 1, maxLength: 40 },
  ),
  readers: fc.array(
    fc.record({
      topics: fc.uniqueArray(fc.constantFrom(...TOPICS), { maxLength: 3 }),
      maxPapers: fc.integer({ min: 1, max: 25 }),
      sentEvery: fc.integer({ min: 0, max: 4 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  perList: fc.integer({ min: 1, max: 12 }),
});

describe("today's order in TypeScript", () => {
  let db: Db;
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  beforeAll(async () => {
    database = await createScratchDatabase(inject('adminDatabaseUrl'), 'paperboy_test');
    db = createDb(database.url, { max: 2 });
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('picks what paperboy_pick_for picks, in its order, with its reasons, with and without a run', async () => {
    const since = new Date('2026-03-01T00:00:00Z');
    await fc.assert(
      fc.asyncProperty(scenario, async ({ papers, readers, perList }) => {
        await db.query('TRUNCATE papers, subscribers, deliveries, delivery_papers RESTART IDENTITY CASCADE');
        const paperIds = (
          await db.query<{ id: number }>(
            `INSERT INTO papers (title_key, title, abstract, trend_score, trend_reason, fresh_at)
             SELECT 'p' || n, t, a, s, r, f
               FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS x (t, a, s, r, f, n)
             RETURNING id`,
            [
              papers.map((p) => p.title.join(' ')),
              papers.map((p) => p.abstract.join(' ')),
              papers.map((p) => p.trend / 4),
              papers.map((p) => p.reason),
              papers.map((p) => new Date(since.getTime() + (p.stale ? -3_600_000 : 3_600_000))),
            ],
          )
        ).rows.map((r) => r.id);
        const subscriberIds: number[] = [];
        const sent = new Map<number, Set<number>>();
        for (const [i, r] of readers.entries()) {
          const { rows } = await db.query<{ id: number }>(
            'INSERT INTO subscribers (email, topics, max_papers) VALUES ($1, $2, $3) RETURNING id',
            [`r${i}@example.org`, r.topics, r.maxPapers],
          );
          const id = (rows[0] as { id: number }).id;
          subscriberIds.push(id);
          const before = new Set(r.sentEvery ? paperIds.filter((p) => p % r.sentEvery === 0) : []);
          sent.set(id, before);
          if (before.size === 0) continue;
          const delivery = await db.query<{ id: number }>(
            `INSERT INTO deliveries (subscriber_id, digest_date, due_at, status)
             VALUES ($1, '2026-02-28', '2026-02-28T08:00:00Z', 'sent') RETURNING id`,
            [id],
          );
          await db.query(
            `INSERT INTO delivery_papers (delivery_id, subscriber_id, paper_id, position, reason)
             SELECT $1, $2, p, n, '' FROM unnest($3::bigint[]) WITH ORDINALITY AS x (p, n)`,
            [delivery.rows[0]?.id, id, [...before]],
          );
        }

        // What the database matches, and what it picks.
        const fresh = (
          await db.query<{ id: number; trend_score: number; trend_reason: string }>(
            'SELECT id, trend_score, trend_reason FROM papers WHERE fresh_at >= $1',
            [since],
          )
        ).rows;
        const matches = async (topics: string[]) => {
          const { rows } = await db.query<{ id: number; topic: string }>(
            `SELECT p.id, t.topic
               FROM papers p CROSS JOIN unnest($1::text[]) AS t (topic)
              WHERE p.fresh_at >= $2
                AND numnode(websearch_to_tsquery('english', t.topic)) > 0
                AND p.search @@ websearch_to_tsquery('english', t.topic)`,
            [topics, since],
          );
          return rows;
        };
        const picked = async (run: string | null) =>
          (
            await db.query<{ subscriber_id: number; paper_id: number; place: number; reason: string }>(
              `SELECT subscriber_id, paper_id, place::int, reason FROM paperboy_pick_for($1, $2, $3, $4)
                ORDER BY subscriber_id, place`,
              [subscriberIds, since, perList, run],
            )
          ).rows;
        const run = randomUUID();
        await db.query(
          `INSERT INTO ranked_lists (run_id, topics, ids, matched)
           SELECT $1, l.topics, l.ids, l.matched FROM paperboy_lists_for($2, $3, $4) l`,
          [run, subscriberIds, since, perList],
        );
        const fromSql = await picked(null);
        expect(await picked(run)).toEqual(fromSql);

        const reasons = new Map(fresh.map((p) => [p.id, p.trend_reason]));
        const expected = [];
        for (const [i, r] of readers.entries()) {
          const id = subscriberIds[i] as number;
          const hits = await matches(r.topics);
          const listed = fresh.map((p) => ({
            id: p.id,
            trendScore: p.trend_score,
            matches: hits.filter((h) => h.id === p.id).map((h) => h.topic),
          }));
          const list = rankedList(listed, r.topics, perList);
          const walked = walkList(list, (p) => sent.get(id)?.has(p) ?? false, r.maxPapers);
          expected.push(
            ...walked.map((p, n) => ({
              subscriber_id: id,
              paper_id: p.paperId,
              place: n + 1,
              reason: listReason(p.matched, reasons.get(p.paperId) ?? ''),
            })),
          );
        }
        expect(expected).toEqual(fromSql);
      }),
      { numRuns: 60 },
    );
  });
});
