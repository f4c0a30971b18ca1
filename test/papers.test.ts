import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { freePort } from '../services/local/ports.ts';
import { ingestPapers } from '../services/papers/ingest.ts';
import type { PaperInput } from '../services/papers/model.ts';
import { createHarness, type Harness, parse, runCli, subscribeAndConfirm } from './support/harness.ts';

const fixture = (name: string) => path.join(ROOT, 'test/fixtures', name);

describe('ingesting paper sources', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    h.clock.set('2026-03-06T12:00:00Z');
  });
  afterAll(async () => h?.close());

  const paper = async (arxivId: string) =>
    // biome-ignore lint/suspicious/noExplicitAny: a raw row, checked field by field
    (await h.services.db.query<any>('SELECT * FROM papers WHERE arxiv_id = $1', [arxivId])).rows;

  it('ingests the daily papers and reports new, skipped and why', async () => {
    const r = await h.services.papers.ingest(fixture('hf-daily-papers.json'), 'hf');
    expect(r).toMatchObject({ source: 'hf', entries: 6, new: 3, updated: 0, unchanged: 0, skipped: 3 });
    expect(r.skippedReasons).toEqual({ withdrawn: 1, 'no title': 1, 'invalid paper': 1 });
    const [row] = await paper('2602.23229');
    expect(row).toMatchObject({
      upvotes: 10,
      comments: 1,
      github_stars: 9,
      sources: ['hf'],
      keywords: ['in-context learning', 'CIRCLE', 'multimodal'],
    });
  });

  it('merges the same arXiv paper from another source into one row, taking the newer version', async () => {
    const r = await h.services.papers.ingest(fixture('arxiv-cs-lg.atom'), 'arxiv');
    expect(r).toMatchObject({ entries: 4, new: 2, updated: 1, unchanged: 0, skipped: 1 });
    const rows = await paper('2602.23229');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      title: 'Large Multimodal Models as General In-Context Classifiers (Extended)',
      arxiv_version: 2,
      upvotes: 10,
      categories: ['cs.CV', 'cs.LG'],
      sources: ['hf', 'arxiv'],
    });
  });

  it('changes nothing when the same data comes again, but keeps each observation of the signals', async () => {
    h.clock.set('2026-03-06T13:00:00Z');
    const r = await h.services.papers.ingest(fixture('hf-daily-papers.json'), 'hf');
    expect(r).toMatchObject({ new: 0, updated: 0, unchanged: 3 });
    const { rows } = await h.services.db.query(
      `SELECT count(*)::int AS n FROM paper_observations o JOIN papers p ON p.id = o.paper_id WHERE p.arxiv_id = '2603.01234'`,
    );
    expect(rows[0]?.n).toBe(2);
  });

  it('merges a paper from an API into its seed-page row by title', async () => {
    const before = (await h.services.db.query('SELECT count(*)::int AS n FROM papers')).rows[0]?.n;
    const item = [
      {
        paper: {
          id: '2405.16528',
          title: 'LoQT:  low-rank adapters for quantized training',
          summary: 'LoQT full abstract.',
          upvotes: 7,
        },
      },
    ];
    const file = path.join(h.config.dataDir, 'loqt.json');
    writeFileSync(file, JSON.stringify(item));
    const r = await h.services.papers.ingest(file, 'hf');
    expect(r).toMatchObject({ new: 0, updated: 1 });
    expect((await h.services.db.query('SELECT count(*)::int AS n FROM papers')).rows[0]?.n).toBe(before);
    expect((await paper('2405.16528'))[0]).toMatchObject({ seed_position: 2, sources: ['seed', 'hf'], upvotes: 7 });
  });

  it('fails clearly on an unreachable source, a missing file and the wrong format', async () => {
    await expect(h.services.papers.ingest('/nonexistent/papers.json', 'hf')).rejects.toThrow(
      /cannot read \/nonexistent\/papers.json: ENOENT/,
    );
    const closed = await freePort();
    await expect(h.services.papers.ingest(`http://127.0.0.1:${closed}/daily`, 'hf')).rejects.toThrow(
      /cannot fetch .*: connection refused/,
    );
    await expect(h.services.papers.ingest(fixture('arxiv-cs-lg.atom'), 'hf')).rejects.toThrow(/not JSON/);
  });

  it('runs from the command line with a summary', async () => {
    const out = await runCli(['ingest', fixture('arxiv-cs-lg.atom'), '--source', 'arxiv'], h.env);
    // Progress on stderr (plain lines, as it is not a terminal) ends with the counts.
    expect(out.stderr).toMatch(/^ingest: 4\/4 entries · 3 unchanged · 1 skipped · \d+ s\n$/m);
    expect(out.stderr).not.toMatch(/[\r\x1b]/);
    expect(out.stdout).toMatch(
      /^Ingested .*arxiv-cs-lg\.atom \(arxiv\): 4 entries, 0 new, 0 updated, 3 unchanged, 1 skipped \(1 not an arXiv id\)/,
    );
    const bad = await runCli(['ingest', fixture('arxiv-cs-lg.atom'), '--source', 'nope'], h.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--source <seed|hf|arxiv>');
  });

  it('runs the configured sources from the scheduled job', async () => {
    const env = {
      ...h.env,
      SOURCES: 'hf,arxiv',
      HF_DAILY_URL: fixture('hf-daily-papers.json'),
      ARXIV_QUERY_URL: '/nonexistent/{date}.atom',
    };
    const out = await runCli(['ingest', fixture('hf-daily-papers.json'), '--source', 'hf'], env);
    expect(out.code).toBe(0);
    const { createPaperService } = await import('../services/papers/service.ts');
    const service = createPaperService({
      db: h.services.db,
      clock: h.clock,
      log: h.services.log,
      sources: [
        { name: 'hf', location: fixture('hf-daily-papers.json') },
        { name: 'arxiv', location: '/nonexistent/{date}.atom' },
      ],
    });
    const { reports, failures } = await service.runConfigured();
    expect(reports.map((r) => r.source)).toEqual(['hf']);
    expect(failures).toEqual(['arxiv: cannot read /nonexistent/2026-03-06.atom: ENOENT']);
  });
});

describe('ranking', () => {
  let h: Harness;
  const now = new Date('2026-06-10T12:00:00Z');
  const hoursAgo = (n: number) => new Date(now.getTime() - n * 3_600_000);

  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
    // The seed papers became news on the harness clock's day, months before: out of the window.
    const at = async (when: Date, papers: PaperInput[]) => {
      h.clock.set(when.toISOString());
      await ingestPapers(h.services.db, 'hf', { papers, entries: papers.length, skipped: [] }, when);
    };
    const p = (id: string, title: string, upvotes: number, featuredHoursAgo: number): PaperInput => ({
      title,
      abstract: `Abstract of ${title}.`,
      arxivId: id,
      upvotes,
      featuredAt: hoursAgo(featuredHoursAgo),
    });
    // D and E were featured two days ago with 50 and 150 upvotes; today D has gained 100, E nothing.
    await at(hoursAgo(48), [
      p('2606.00004', 'Delta: Fast Risers', 50, 48),
      p('2606.00005', 'Echo: Robot Manipulation at Scale', 150, 48),
    ]);
    await at(hoursAgo(72), [p('2606.00003', 'Charlie: Old News', 100, 72)]);
    await at(now, [
      p('2606.00001', 'Alpha: Today’s Favourite', 100, 2),
      p('2606.00002', 'Bravo: A Quiet Newcomer', 10, 2),
      p('2606.00004', 'Delta: Fast Risers', 150, 48),
      p('2606.00005', 'Echo: Robot Manipulation at Scale', 150, 48),
      p('2606.00003', 'Charlie: Old News', 100, 72),
    ]);
    h.clock.set(now.toISOString());
    await h.services.papers.refreshTrends(now);
  });
  afterAll(async () => h?.close());

  const order = async () =>
    (
      await h.services.db.query<{ title: string; trend_reason: string }>(
        "SELECT title, trend_reason FROM papers WHERE 'hf' = ANY(sources) ORDER BY trend_score DESC",
      )
    ).rows;

  it('ranks by signals with time decay, velocity above old totals', async () => {
    expect((await order()).map((r) => r.title.split(':')[0])).toEqual(['Alpha', 'Bravo', 'Delta', 'Echo', 'Charlie']);
  });

  it('says in words why a paper trends', async () => {
    const reasons = Object.fromEntries((await order()).map((r) => [r.title.split(':')[0], r.trend_reason]));
    expect(reasons).toEqual({
      Alpha: '+100 upvotes today',
      Bravo: '+10 upvotes today',
      Delta: '+100 upvotes today',
      Echo: '150 upvotes',
      Charlie: '100 upvotes',
    });
  });

  it('puts papers matching the topics first, says which topics matched, and caps at the chosen count', async () => {
    h.clock.set('2026-06-09T10:00:00Z');
    await subscribeAndConfirm(h, 'robots@example.org', { topics: 'robots, manipulation', maxPapers: 3 });
    const preview = await h.services.ranking.preview('robots@example.org', now);
    expect(preview.picks.map((p) => [p.title.split(':')[0], p.reason])).toEqual([
      ['Echo', 'matches: manipulation, robots · 150 upvotes'],
      ['Alpha', '+100 upvotes today'],
      ['Bravo', '+10 upvotes today'],
    ]);
  });

  it('never picks a paper sent before, and sends no mail when nothing new is left', async () => {
    const first = await h.services.digests.runNow(new Date('2026-06-10T08:00:00Z'));
    expect(first).toMatchObject({ due: 1, sent: 1 });
    const second = await h.services.digests.runNow(new Date('2026-06-11T08:00:00Z'));
    expect(second).toMatchObject({ due: 1, sent: 1 });
    const titles = async (n: number) =>
      ((await parse(h.sink.to('robots@example.org')[n]!)).text ?? '').match(/^\d+\. .+$/gm);
    expect(await titles(1)).toEqual([
      '1. Echo: Robot Manipulation at Scale',
      '2. Alpha: Today’s Favourite',
      '3. Bravo: A Quiet Newcomer',
    ]);
    expect(await titles(2)).toEqual(['1. Delta: Fast Risers', '2. Charlie: Old News']);
    // Papers with an arXiv id link to their arXiv page.
    expect((await parse(h.sink.to('robots@example.org')[1]!)).text).toContain('https://arxiv.org/abs/2606.00005');

    const third = await h.services.digests.runNow(new Date('2026-06-12T08:00:00Z'));
    expect(third).toMatchObject({ due: 1, sent: 0, skipped: 1 });
    expect(h.sink.to('robots@example.org')).toHaveLength(3);
    const { rows } = await h.services.db.query(
      "SELECT status, last_error FROM deliveries WHERE digest_date = '2026-06-12'",
    );
    expect(rows).toEqual([{ status: 'skipped', last_error: 'no new papers' }]);
  });

  it('explains a subscriber’s next digest on the command line', async () => {
    const out = await runCli(['rank', '--email', 'robots@example.org', '--at', now.toISOString()], h.env);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      'robots@example.org (active; topics: robots, manipulation; 3 papers; papers news since 2026-05-27; 5 sent before)',
    );
    expect(out.stdout).toContain('Nothing new: no digest would be sent.');
  });

  it('forgets the picks of a deleted paper or delivery, and every pick of an erased subscriber', async () => {
    const db = h.services.db;
    const { id } = (await db.query<{ id: number }>("SELECT id FROM subscribers WHERE email = 'robots@example.org'"))
      .rows[0]!;
    const picks = async () =>
      (
        await db.query<{ digest_date: string; paper: string }>(
          `SELECT d.digest_date, split_part(p.title, ':', 1) AS paper
             FROM delivery_papers dp JOIN deliveries d ON d.id = dp.delivery_id JOIN papers p ON p.id = dp.paper_id
            WHERE dp.subscriber_id = $1 ORDER BY d.digest_date, dp.position`,
          [id],
        )
      ).rows.map((r) => `${r.digest_date} ${r.paper}`);
    const orphans = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM delivery_papers dp
            WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = dp.delivery_id)
               OR NOT EXISTS (SELECT 1 FROM papers p WHERE p.id = dp.paper_id)`,
        )
      ).rows[0]?.n;
    expect(await picks()).toEqual([
      '2026-06-10 Echo',
      '2026-06-10 Alpha',
      '2026-06-10 Bravo',
      '2026-06-11 Delta',
      '2026-06-11 Charlie',
    ]);
    await db.query("DELETE FROM papers WHERE arxiv_id = '2606.00003'");
    expect(await picks()).toEqual(['2026-06-10 Echo', '2026-06-10 Alpha', '2026-06-10 Bravo', '2026-06-11 Delta']);
    await db.query("DELETE FROM deliveries WHERE subscriber_id = $1 AND digest_date = '2026-06-10'", [id]);
    expect(await picks()).toEqual(['2026-06-11 Delta']);
    expect(await orphans()).toBe(0);
    // Erasing reaches the picks through the subscriber's deliveries.
    await h.services.manage.erase(h.services.links.manageToken({ id, token_epoch: 0 }, h.clock.now()));
    const left = await db.query('SELECT count(*)::int AS n FROM delivery_papers WHERE subscriber_id = $1', [id]);
    expect(left.rows[0]?.n).toBe(0);
    expect(await orphans()).toBe(0);
  });
});
