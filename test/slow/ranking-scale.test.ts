import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaperRepository } from '../../services/papers/repository.ts';
import { createHarness, type Harness, subscribeAndConfirm } from '../support/harness.ts';
import { explainNested } from '../support/servers.ts';

describe('ranking at scale', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
    await h.services.db.query(`
      INSERT INTO papers (title_key, title, abstract, arxiv_id, sources, fresh_at, trend_score, keywords)
      SELECT 'synthetic ' || n, 'Synthetic paper ' || n || CASE WHEN n % 100 = 0 THEN ' on robot learning' ELSE ' on language models' END,
             'An abstract about topic ' || (n % 997) || '.', '2601.' || lpad(n::text, 6, '0'), '{synthetic}',
             now() - (n % 30) * interval '1 day', random(), '{}'
        FROM generate_series(1, 100000) AS n`);
    await h.services.db.query('ANALYZE papers');
    await subscribeAndConfirm(h, 'scale@example.org', { topics: 'robot learning' });
  }, 120_000);
  afterAll(async () => h?.close());

  it('uses indexes, not a scan of every paper, to pick one subscriber’s papers among 100k', async () => {
    // The function runs as its own plan: auto_explain reports it back as a notice.
    const plan = await explainNested(
      h.services.db,
      `SELECT r.* FROM subscribers s, paperboy_pick_for(ARRAY[s.id], now() - interval '14 days') r
        WHERE s.email = 'scale@example.org'`,
      [],
    );
    expect(plan).toMatch(/paperboy_pick_for|topic_papers/);
    expect(plan).not.toMatch(/Seq Scan on papers/);
    expect(plan).toMatch(/papers_(search|trend)_idx/);
    const picks = await h.services.ranking.preview('scale@example.org', new Date());
    expect(picks.picks).toHaveLength(10);
    expect(picks.picks[0]?.reason).toMatch(/^matches: robot learning/);
  });

  it('picks the same from lists a planning run remembered as from lists ranked for each batch', async () => {
    const db = h.services.db;
    await db.query(
      `INSERT INTO subscribers (email, status, timezone, topics, max_papers, next_send_at, confirmed_at)
       SELECT 'lists' || i || '@example.org', 'active', 'UTC',
              CASE i % 5 WHEN 0 THEN '{}'::text[] WHEN 1 THEN '{robot learning}' WHEN 2 THEN '{language models}'
                         WHEN 3 THEN '{language models, robot learning}' ELSE '{topic 5}' END, 3 + i % 8,
              '2026-06-10T08:00:00Z', now()
         FROM generate_series(1, 40) AS i`,
    );
    const ids = (
      await db.query<{ id: number }>("SELECT id FROM subscribers WHERE email LIKE 'lists%' ORDER BY id")
    ).rows.map((r) => r.id);
    const since = new Date(Date.now() - 14 * 86_400_000);
    const pick = async (run: string | null) =>
      (
        await db.query(
          'SELECT subscriber_id, paper_id, place, reason FROM paperboy_pick_for($1::bigint[], $2, 200, $3::uuid) ORDER BY 1, 3',
          [ids, since, run],
        )
      ).rows;
    const fresh = await pick(null);
    expect(fresh.length).toBeGreaterThan(200);
    // A run remembers its lists batch by batch; the first batch's sets are ranked once, the
    // second batch adds only the sets the first did not have.
    const run = '00000000-0000-4000-8000-000000000001';
    expect(
      await createPaperRepository(db).rememberRankedLists(
        run,
        ids.filter((_, i) => i % 5 < 2),
        since,
      ),
    ).toBe(2);
    expect(await createPaperRepository(db).rememberRankedLists(run, ids, since)).toBe(3);
    expect(await pick(run)).toEqual(fresh);
    await db.query('DELETE FROM ranked_lists');
  });

  it('keeps ranked lists for the length of a planning run only', async () => {
    // Due an hour from now (the papers here are recent), long after the harness clock, so its
    // scheduled ticks leave them to this run.
    const at = new Date(Date.now() + 3_600_000);
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, timezone, topics, next_send_at, confirmed_at)
       SELECT 'run' || i || '@example.org', 'active', 'UTC', ARRAY['robot learning'], $1, now()
         FROM generate_series(1, 5) AS i`,
      [at],
    );
    const seen: number[] = [];
    await h.services.planner.planAll(at, async () => {
      seen.push(
        (await h.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ranked_lists')).rows[0]?.n ?? 0,
      );
    });
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect((await h.services.db.query('SELECT 1 FROM ranked_lists')).rowCount).toBe(0);
  });
});
