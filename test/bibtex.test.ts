import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, linkIn, parse, pathOf } from './support/harness.ts';

/** A digest's BibTeX, linked from its web version (issue #21). */
describe('the BibTeX of a digest', () => {
  let h: Harness;
  let web: string;

  beforeAll(async () => {
    h = await createHarness();
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, send_hour, next_send_at, max_papers, confirmed_at)
       VALUES ('cite@example.org', 'active', 8, '2026-03-03T08:00Z', 5, '2026-03-01T00:00Z')`,
    );
    // The top paper gets a title a careless writer would break the file with, and arXiv fields.
    await h.services.db.query(
      `UPDATE papers SET title = 'Cost } of 100% & $x_1$ {', arxiv_id = '2603.01234', categories = '{cs.LG,stat.ML}',
              published_at = '2026-03-01T00:00Z'
        WHERE id = (SELECT id FROM papers ORDER BY trend_score DESC, id LIMIT 1)`,
    );
    expect(await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'))).toMatchObject({ sent: 1 });
    web = linkIn(await parse(h.sink.to('cite@example.org')[0]!), '/d/');
  });
  afterAll(async () => h?.close());

  it('is linked from the web version, not from the mail, and downloads one entry per paper', async () => {
    const mail = await parse(h.sink.to('cite@example.org')[0]!);
    expect(mail.html).not.toContain('BibTeX');
    const page = (await h.app.inject({ url: pathOf(web) })).body;
    const link = /<a href="([^"]+)"[^>]*>BibTeX<\/a>/.exec(page)?.[1];
    expect(link).toBe(`${web}/bibtex`);

    const res = await h.app.inject({ url: pathOf(link!) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/x-bibtex; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="paperboy-2026-03-03.bib"');
    expect(res.headers['cache-control']).toBe('no-store');

    const { rows } = await h.services.db.query<{ title: string; arxiv_id: string | null }>(
      `SELECT p.title, p.arxiv_id FROM delivery_papers dp JOIN papers p ON p.id = dp.paper_id ORDER BY dp.position`,
    );
    expect(rows).toHaveLength(5);
    const entries = res.body.split(/\n(?=@)/);
    expect(entries).toHaveLength(5);
    const keys = entries.map((e) => /^@misc\{([a-z0-9]+),\n/.exec(e)?.[1]);
    expect(new Set(keys).size).toBe(5);
    expect(keys.every(Boolean)).toBe(true);
    rows.forEach((p, i) => {
      const e = entries[i] as string;
      expect(e).toContain(p.arxiv_id ? `eprint = {${p.arxiv_id}}` : 'url = {http://paperboy.test/papers/');
    });
    expect(entries[0]).toContain('title = {{Cost \\} of 100\\% \\& \\$x\\_1\\$ \\{}}');
    expect(entries[0]).toContain('year = {2026}');
    expect(entries[0]).toContain('archivePrefix = {arXiv}');
    expect(entries[0]).toContain('primaryClass = {cs.LG}');
    expect(entries[0]).toContain('url = {https://arxiv.org/abs/2603.01234}');
  });

  it('stops working when the reader signs out every link, like the web version', async () => {
    await h.services.db.query("UPDATE subscribers SET token_epoch = token_epoch + 1 WHERE email = 'cite@example.org'");
    const res = await h.app.inject({ url: `${pathOf(web)}/bibtex` });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('@misc');
  });
});
