import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSeeds } from '../services/papers/ingest.ts';
import { createHarness, type Harness } from './support/harness.ts';

describe('seed papers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(); // prepares the database, which loads the seeds once
  });
  afterAll(async () => h?.close());

  it('loads the 271 entries of the seed page as 270 papers in page order', async () => {
    expect(await h.services.catalog.count()).toBe(270);
    const { rows } = await h.services.db.query(
      'SELECT title, seed_position FROM papers ORDER BY seed_position LIMIT 2',
    );
    expect(rows).toEqual([
      { title: 'Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization', seed_position: 1 },
      { title: 'LoQT: Low Rank Adapters for Quantized Training', seed_position: 2 },
    ]);
  });

  it('adds nothing when loaded again', async () => {
    const [report] = await loadSeeds(h.services.db, h.clock.now());
    expect(report).toMatchObject({ entries: 271, new: 0, updated: 0, unchanged: 270, skipped: 1 });
    expect(await h.services.catalog.count()).toBe(270);
  });
});
