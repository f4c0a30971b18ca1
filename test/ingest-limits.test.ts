import { once } from 'node:events';
import { truncateSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { createPaperService } from '../services/papers/service.ts';
import { createHarness, eventually, type Harness } from './support/harness.ts';

const MB = 1024 * 1024;
// Varied CJK characters: 900 of them are 2,700 bytes, and do not compress into a short index entry.
const cjk = (n: number) =>
  Array.from({ length: n }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20_000))).join('');

describe('a bad entry is skipped, the rest of its source ingested', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    h.clock.set('2026-03-06T12:00:00Z');
  });
  afterAll(async () => h?.close());

  const write = (name: string, body: string) => {
    const file = path.join(h.config.dataDir, name);
    writeFileSync(file, body);
    return file;
  };
  const papers = async (ids: string[]) =>
    (
      await h.services.db.query<{ arxiv_id: string; title: string; abstract: string; authors: string[] }>(
        'SELECT arxiv_id, title, abstract, authors FROM papers WHERE arxiv_id = ANY($1) ORDER BY arxiv_id',
        [ids],
      )
    ).rows;
  const lastRun = async () =>
    (
      await h.services.db.query(
        `SELECT source, status, entries, new, skipped, skipped_reasons, skipped_entries, error
           FROM ingest_runs ORDER BY id DESC LIMIT 1`,
      )
    ).rows[0];

  it('Hugging Face daily papers: NUL stripped, numbers and dates out of range and oversized text skipped', async () => {
    const item = (id: string, paper: object = {}, top: object = {}) => ({
      paper: { id, title: `Paper ${id}`, summary: `Abstract of ${id}.`, upvotes: 1, ...paper },
      ...top,
    });
    const file = write(
      'hf-bad.json',
      JSON.stringify([
        item('2603.10001'),
        item('2603.10002', {
          title: 'Null\u0000 Bytes\u0007 Stripped',
          summary: 'An abstract with a NUL\u0000 inside.',
          authors: [{ name: 'Ada\u0000 Lovelace' }],
          ai_keywords: ['nul\u0000'],
        }),
        item('2603.10003', { upvotes: 1e30 }),
        item('2603.10004', { upvotes: -3 }),
        item('2603.10005', { githubStars: 2 ** 31 }),
        item('2603.10006', {}, { numComments: 1.5 }),
        item('2603.10007', { publishedAt: '-010000-01-01T00:00:00Z' }),
        item('2603.10008', { submittedOnDailyAt: '9999-12-31T00:00:00Z' }),
        item('2603.10009', { title: 'T'.repeat(100_000) }),
        item('2603.10010', { title: cjk(900) }),
        item('2603.10011', { summary: 'a'.repeat(5 * MB) }),
        item('2603.10012', { authors: Array.from({ length: 5000 }, (_, i) => ({ name: `Author ${i}` })) }),
        item('2603.10013', { authors: [{ name: 'N'.repeat(10_000) }] }),
        item('2603.1001\u0000'),
        item('2603.10014', { githubRepo: 'javascript:alert(1)' }),
      ]),
    );
    const r = await h.services.papers.ingest(file, 'hf');
    const reasons = {
      'upvotes out of range': 2,
      'GitHub stars out of range': 1,
      'comments out of range': 1,
      'publication date out of range': 1,
      'featured date out of range': 1,
      'title over 1000 characters': 1,
      'title over 2000 bytes': 1,
      'abstract over 20000 characters': 1,
      'author name over 300 characters': 1,
      'not an arXiv id': 1,
    };
    expect(r).toMatchObject({ entries: 15, new: 4, skipped: 11, skippedReasons: reasons });
    expect(await papers(['2603.10001', '2603.10002', '2603.10012', '2603.10014'])).toHaveLength(4);
    expect((await papers(['2603.10002']))[0]).toEqual({
      arxiv_id: '2603.10002',
      title: 'Null Bytes Stripped',
      abstract: 'An abstract with a NUL inside.',
      authors: ['Ada Lovelace'],
    });
    const many = (await papers(['2603.10012']))[0]?.authors;
    expect([many?.length, many?.[0], many?.at(-1)]).toEqual([500, 'Author 0', 'Author 499']);
    const { rows } = await h.services.db.query("SELECT github_repo FROM papers WHERE arxiv_id = '2603.10014'");
    expect(rows).toEqual([{ github_repo: null }]);

    expect(await lastRun()).toEqual({
      source: 'hf',
      status: 'ok',
      entries: 15,
      new: 4,
      skipped: 11,
      skipped_reasons: reasons,
      skipped_entries: expect.arrayContaining([
        { entry: '2603.10003', reason: 'upvotes out of range' },
        { entry: '2603.10011', reason: 'abstract over 20000 characters' },
        { entry: '2603.1001', reason: 'not an arXiv id' },
      ]),
      error: null,
    });
  });

  it('arXiv Atom: NUL stripped, an impossible version or date and an oversized title skipped', async () => {
    const entry = (id: string, { title = `Atom paper ${id}`, published = '2026-03-01T00:00:00Z', authors = 1 } = {}) =>
      `<entry><id>http://arxiv.org/abs/${id}</id><title>${title}</title><summary>About ${id}.</summary>
       <published>${published}</published>
       ${Array.from({ length: authors }, (_, i) => `<author><name>Writer ${i}</name></author>`).join('')}
       <category term="cs.LG"/></entry>`;
    const file = write(
      'arxiv-bad.atom',
      `<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">
        ${entry('2603.20001v1')}
        ${entry('2603.20002v1', { title: 'A NUL\u0000 in the title' })}
        ${entry('2603.20003v99999999999')}
        ${entry('2603.20004v1', { published: '-010000-01-01T00:00:00Z' })}
        ${entry('2603.20005v1', { title: 'x'.repeat(100_000) })}
        ${entry('2603.20006v1', { authors: 3000 })}
        ${entry('2603.20007v1')}
      </feed>`,
    );
    const r = await h.services.papers.ingest(file, 'arxiv');
    expect(r).toMatchObject({
      entries: 7,
      new: 4,
      skipped: 3,
      skippedReasons: {
        'arXiv version out of range': 1,
        'publication date out of range': 1,
        'title over 1000 characters': 1,
      },
    });
    const rows = await papers(['2603.20001', '2603.20002', '2603.20006', '2603.20007']);
    expect(rows.map((p) => [p.arxiv_id, p.title, p.authors.length])).toEqual([
      ['2603.20001', 'Atom paper 2603.20001v1', 1],
      ['2603.20002', 'A NUL in the title', 1],
      ['2603.20006', 'Atom paper 2603.20006v1', 500],
      ['2603.20007', 'Atom paper 2603.20007v1', 1],
    ]);
  });

  it('seed page: a NUL stripped, an oversized title or abstract skipped', async () => {
    const file = write(
      'seed-bad.txt',
      [
        'Get trending papers in your email inbox once a day!',
        'SubscribeSeed Entry One',
        'First abstract.',
        'Seed Entry\u0000 Two',
        'Second\u0000 abstract.',
        'S'.repeat(100_000),
        'An abstract under an impossible title.',
        'Seed Entry Three',
        'b'.repeat(5 * MB),
        'Seed Entry Four',
        'Fourth abstract.',
      ].join('\n'),
    );
    const r = await h.services.papers.ingest(file, 'seed');
    expect(r).toMatchObject({
      entries: 5,
      new: 3,
      skipped: 2,
      skippedReasons: { 'title over 1000 characters': 1, 'abstract over 20000 characters': 1 },
    });
    const { rows } = await h.services.db.query(
      "SELECT title, abstract FROM papers WHERE title LIKE 'Seed Entry%' ORDER BY seed_position",
    );
    expect(rows).toEqual([
      { title: 'Seed Entry One', abstract: 'First abstract.' },
      { title: 'Seed Entry Two', abstract: 'Second abstract.' },
      { title: 'Seed Entry Four', abstract: 'Fourth abstract.' },
    ]);
    const run = await lastRun();
    expect(run?.skipped_entries).toEqual([
      { entry: `${'S'.repeat(199)}…`, reason: 'title over 1000 characters' },
      { entry: 'Seed Entry Three', reason: 'abstract over 20000 characters' },
    ]);
  });

  it('keeps the record of a run bounded however many entries are skipped', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({
      paper: { id: `2603.3${String(i).padStart(4, '0')}`, title: `Bad ${i}`, upvotes: -1 - i },
    }));
    const r = await h.services.papers.ingest(write('hf-many-bad.json', JSON.stringify(items)), 'hf');
    expect(r).toMatchObject({ entries: 300, new: 0, skipped: 300, skippedReasons: { 'upvotes out of range': 300 } });
    const run = await lastRun();
    expect(run?.skipped_entries).toHaveLength(20);
    expect(run?.skipped_entries[0]).toEqual({ entry: '2603.30000', reason: 'upvotes out of range' });
  });
});

describe('papers that share a title', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    h.clock.set('2026-03-06T12:00:00Z');
  });
  afterAll(async () => h?.close());

  const hf = async (name: string, papers: { id: string; title: string; summary: string; author: string }[]) => {
    const file = path.join(h.config.dataDir, name);
    writeFileSync(
      file,
      JSON.stringify(
        papers.map((p) => ({ paper: { id: p.id, title: p.title, summary: p.summary, authors: [{ name: p.author }] } })),
      ),
    );
    return h.services.papers.ingest(file, 'hf');
  };
  const texts = async (ids: string[]) =>
    (
      await h.services.db.query(
        'SELECT arxiv_id, title, abstract, authors FROM papers WHERE arxiv_id = ANY($1) ORDER BY arxiv_id',
        [ids],
      )
    ).rows;

  it('never lets a paper with another arXiv id overwrite the text of one with the same title', async () => {
    await hf('first.json', [
      { id: '2603.40001', title: 'Attention Is All You Need', summary: 'First.', author: 'Ada' },
    ]);
    const second = await hf('second.json', [
      { id: '2603.40002', title: 'attention is all you need!', summary: 'Second.', author: 'Bob' },
    ]);
    expect(second).toMatchObject({ new: 1, updated: 0, skipped: 0 });
    expect(await texts(['2603.40001', '2603.40002'])).toEqual([
      { arxiv_id: '2603.40001', title: 'Attention Is All You Need', abstract: 'First.', authors: ['Ada'] },
      { arxiv_id: '2603.40002', title: 'attention is all you need!', abstract: 'Second.', authors: ['Bob'] },
    ]);

    // A later version of the second reaches the second only; both in one file stay two papers.
    const again = await hf('again.json', [
      { id: '2603.40002', title: 'Attention Is All You Need', summary: 'Second, revised.', author: 'Bob' },
      { id: '2603.40003', title: 'Attention is all you need', summary: 'Third.', author: 'Cy' },
    ]);
    expect(again).toMatchObject({ new: 1, updated: 1, skipped: 0 });
    expect(await texts(['2603.40001', '2603.40002', '2603.40003'])).toEqual([
      { arxiv_id: '2603.40001', title: 'Attention Is All You Need', abstract: 'First.', authors: ['Ada'] },
      { arxiv_id: '2603.40002', title: 'Attention Is All You Need', abstract: 'Second, revised.', authors: ['Bob'] },
      { arxiv_id: '2603.40003', title: 'Attention is all you need', abstract: 'Third.', authors: ['Cy'] },
    ]);
  });

  it('still merges a paper without an arXiv id into the row with its title, and one with an id into it', async () => {
    const seed = path.join(h.config.dataDir, 'seed.txt');
    writeFileSync(seed, ['A Title Only The Seed Knows', 'Seed abstract.'].join('\n'));
    expect(await h.services.papers.ingest(seed, 'seed')).toMatchObject({ new: 1 });
    expect(
      await hf('adopt.json', [
        { id: '2603.40010', title: 'A title only the seed knows', summary: 'API.', author: 'Di' },
      ]),
    ).toMatchObject({ new: 0, updated: 1 });
    expect(await h.services.papers.ingest(seed, 'seed')).toMatchObject({ new: 0 });
    const { rows } = await h.services.db.query(
      "SELECT arxiv_id, sources FROM papers WHERE title_key = 'a title only the seed knows'",
    );
    expect(rows).toEqual([{ arxiv_id: '2603.40010', sources: ['seed', 'hf'] }]);
  });
});

describe('a source larger than Paperboy reads', () => {
  let h: Harness;
  let server: Server;
  let base: string;
  /** Connections the server saw end, by path. */
  const closed = new Set<string>();
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {};

  /** Writes `chunk` again and again, as fast as the client reads, until the client goes away. */
  const endless = (res: ServerResponse, chunk: Buffer) => {
    const more = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', more);
    };
    more();
  };

  beforeAll(async () => {
    h = await createHarness();
    h.clock.set('2026-03-06T12:00:00Z');
    server = createServer((req, res) => {
      const route = req.url ?? '';
      res.on('close', () => closed.add(route));
      routes[route]?.(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await h?.close();
  });

  it('stops reading an endless body and fails that source with the reason', async () => {
    routes['/endless'] = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      endless(res, Buffer.alloc(64 * 1024, ' '));
    };
    await expect(h.services.papers.ingest(`${base}/endless`, 'hf')).rejects.toThrow(
      /cannot fetch .*\/endless .*: the response is larger than 20 MB/,
    );
    await eventually(async () => closed.has('/endless') || undefined);
    const { rows } = await h.services.db.query('SELECT status, error FROM ingest_runs ORDER BY id DESC LIMIT 1');
    expect(rows[0]).toEqual({ status: 'failed', error: expect.stringMatching(/larger than 20 MB$/) });
  });

  it('refuses a body whose Content-Length is over the limit before reading it', async () => {
    routes['/declared'] = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * MB) });
      endless(res, Buffer.alloc(64 * 1024, ' '));
    };
    await expect(h.services.papers.ingest(`${base}/declared`, 'hf')).rejects.toThrow(
      /the response is 10737418240 bytes \(Content-Length\), more than 20 MB/,
    );
    await eventually(async () => closed.has('/declared') || undefined);
  });

  it('counts what a compressed body unpacks to, not its Content-Length', async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('['), Buffer.alloc(30 * MB, ' '), Buffer.from(']')]));
    routes['/gzip'] = (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': bomb.length,
      });
      res.end(bomb);
    };
    expect(bomb.length).toBeLessThan(MB);
    await expect(h.services.papers.ingest(`${base}/gzip`, 'hf')).rejects.toThrow(/larger than 20 MB/);
  });

  it('reads a body under the limit, and a file over it fails as clearly', async () => {
    const fixture = Buffer.from(
      JSON.stringify([{ paper: { id: '2603.50001', title: 'Just Under The Limit', summary: 'Padded.' } }]),
    );
    routes['/under'] = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.concat([fixture, Buffer.alloc(19 * MB, ' ')]));
    };
    expect(await h.services.papers.ingest(`${base}/under`, 'hf')).toMatchObject({ entries: 1, new: 1 });

    const file = path.join(h.config.dataDir, 'huge.json');
    writeFileSync(file, fixture);
    truncateSync(file, 21 * MB);
    await expect(h.services.papers.ingest(file, 'hf')).rejects.toThrow(`cannot read ${file}: larger than 20 MB`);
  });

  it('lets the scheduled run go on with the other sources', async () => {
    const service = createPaperService({
      db: h.services.db,
      clock: h.clock,
      log: h.services.log,
      sources: [
        { name: 'hf', location: `${base}/endless` },
        { name: 'arxiv', location: path.join(ROOT, 'test/fixtures/arxiv-cs-lg.atom') },
      ],
    });
    const { reports, failures } = await service.runConfigured();
    expect(reports.map((r) => [r.source, r.new])).toEqual([['arxiv', 3]]);
    expect(failures).toEqual([expect.stringMatching(/^hf: cannot fetch .*larger than 20 MB$/)]);
  });
});
