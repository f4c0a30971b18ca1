import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../services/core/db.ts';
import { migrate } from '../services/core/migrate.ts';
import { createInterestRepository } from '../services/interests/repository.ts';
import { createScratchDatabase } from './support/servers.ts';

/**
 * What the planner's personal path asks of a batch (services/digests/personal.ts): which of each
 * reader's candidates they were sent before, in one query, reading the papers sent from the
 * window's first id up in one range scan and probing the candidates below it one by one. The
 * bound changes the cost, never the answer.
 */
describe('papers sent among candidates, for a batch', () => {
  let db: Db;
  let drop: () => Promise<void>;
  const papers: number[] = [];
  const readers: number[] = [];

  beforeAll(async () => {
    const database = await createScratchDatabase(inject('adminDatabaseUrl'), 'paperboy_sent');
    drop = database.drop;
    db = createDb(database.url, { max: 2 });
    await migrate(db);
    const p = await db.query<{ id: string }>(
      `INSERT INTO papers (title_key, title, abstract, sources, fresh_at)
       SELECT 'paper ' || i, 'Paper ' || i, 'About ' || i, '{hf}', now() FROM generate_series(1, 12) AS i
       RETURNING id`,
    );
    papers.push(...p.rows.map((r) => Number(r.id)).sort((a, b) => a - b));
    const s = await db.query<{ id: string }>(
      `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
       SELECT 'reader' || i || '@example.org', 'active', now(), now() FROM generate_series(1, 3) AS i
       RETURNING id`,
    );
    readers.push(...s.rows.map((r) => Number(r.id)).sort((a, b) => a - b));
    // Reader 0 was sent papers 0, 2, 7 and 9; reader 1 papers 1 and 8; reader 2 nothing.
    const sent: [number, number[]][] = [
      [0, [0, 2, 7, 9]],
      [1, [1, 8]],
    ];
    for (const [r, ps] of sent) {
      const d = await db.query<{ id: string }>(
        `INSERT INTO deliveries (subscriber_id, digest_date, status, paper_count, due_at)
         VALUES ($1, '2026-03-01', 'sent', $2, now()) RETURNING id`,
        [readers[r], ps.length],
      );
      for (const [i, p] of ps.entries())
        await db.query(
          `INSERT INTO delivery_papers (delivery_id, subscriber_id, paper_id, position, reason) VALUES ($1, $2, $3, $4, '')`,
          [d.rows[0]?.id, readers[r], papers[p], i + 1],
        );
    }
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('finds the sent candidates below and above the bound, and nothing else', async () => {
    const at = (...i: number[]) => i.map((k) => papers[k] as number);
    const candidates = new Map([
      // Sent: 0 and 2 below the bound, 7 above; 9 sent but not a candidate; 3 and 8 candidates never sent to them.
      [readers[0] as number, at(0, 2, 3, 7, 8)],
      [readers[1] as number, at(1, 3, 9)],
      [readers[2] as number, at(0, 1, 2, 7, 8, 9)],
    ]);
    const repository = createInterestRepository(db);
    for (const bound of [papers[0] as number, papers[5] as number, (papers[11] as number) + 1]) {
      const sent = await repository.sentAmong(candidates, bound);
      expect([bound, [...sent].map(([id, s]) => [id, [...s].sort((a, b) => a - b)])]).toEqual([
        bound,
        [
          [readers[0], at(0, 2, 7)],
          [readers[1], at(1)],
          [readers[2], []],
        ],
      ]);
    }
  });
});
