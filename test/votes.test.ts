import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness, ingestHf, linkIn, parse, pathOf, runCli } from './support/harness.ts';

/** Every vote link of a mail's HTML part, in order, as paths. */
const voteLinks = (mail: ParsedMail) =>
  [...String(mail.html).matchAll(/href="(http:\/\/paperboy\.test\/vote\/[^"]+)"/g)].map(([, u]) => pathOf(u as string));
const textVoteLinks = (mail: ParsedMail) =>
  [...(mail.text ?? '').matchAll(/(?:More|Less) like this: (\S+)/g)].map(([, u]) => pathOf(u as string));
const titlesOf = (mail: ParsedMail) => [...(mail.text ?? '').matchAll(/^\d+\. (.+)$/gm)].map(([, t]) => t as string);
const whyOf = (mail: ParsedMail) => [...(mail.text ?? '').matchAll(/^ {3}Why: (.+)$/gm)].map(([, t]) => t as string);

/** One Hugging Face daily paper by Ana Ruíz and Bo Chen, of Modena Lab. */
const byAnaAndBo = (id: string, title: string, upvotes: number, at: string) => ({
  paper: {
    id,
    title,
    summary: 'Sparse kernels for attention over long inputs, measured on retrieval benchmarks.',
    authors: [{ name: 'Ana Ruíz' }, { name: 'Bo Chen' }],
    organization: { fullname: 'Modena Lab' },
    upvotes,
    submittedOnDailyAt: at,
  },
  numComments: 0,
});

describe('votes, follows and excluded terms, from the mail', () => {
  let h: Harness;
  const FOLLOWED_LATER = 'Kernel Tricks Two: Sparser Still';
  const EMAIL = 'voter@example.org';
  const idOf = async (email: string) =>
    Number((await h.services.db.query('SELECT id FROM subscribers WHERE email = $1', [email])).rows[0]?.id);
  const votes = async () =>
    (
      await h.services.db.query<{ paper_id: string; value: number }>(
        'SELECT paper_id, value FROM paper_votes ORDER BY paper_id',
      )
    ).rows.map((r) => [Number(r.paper_id), r.value]);
  const lastMail = async (email = EMAIL) => parse(h.sink.to(email).at(-1)!);
  const manageOf = async (email = EMAIL) => pathOf(linkIn(await lastMail(email), '/manage/'));
  const paperIdOf = (link: string) => Number(/\/vote\/[^/]+\/(\d+)\//.exec(link)?.[1]);

  beforeAll(async () => {
    // Models are trained by a worker as soon as a vote is in, rather than 30 seconds later.
    h = await createHarness({ env: { RELEVANCE_TRAIN_DELAY_SECONDS: '0' } });
    h.clock.set('2026-03-02T12:00:00Z');
    await ingestHf(h, 'first', [
      byAnaAndBo('2603.10001', 'Kernel Tricks for Sparse Attention', 400, '2026-03-02T10:00:00Z'),
    ]);
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, send_hour, next_send_at, max_papers, confirmed_at)
       VALUES ($1, 'active', 8, '2026-03-03T08:00Z', 5, '2026-03-01T00:00Z'),
              ('other@example.org', 'active', 8, '2026-03-03T08:00Z', 5, '2026-03-01T00:00Z')`,
      [EMAIL],
    );
    expect(await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'))).toMatchObject({ sent: 2 });
    h.clock.set('2026-03-03T09:00:00Z');
  });
  afterAll(async () => h?.close());

  it('puts a More and a Less link under every paper, in the HTML and the text part alike', async () => {
    const mail = await lastMail();
    const links = voteLinks(mail);
    expect(links).toHaveLength(10);
    expect(textVoteLinks(mail)).toEqual(links);
    expect(links.filter((l) => l.endsWith('/more'))).toHaveLength(5);
    expect(links.filter((l) => l.endsWith('/less'))).toHaveLength(5);
  });

  it('records nothing on GET: the page has the vote preselected and one button that records it', async () => {
    const [more] = voteLinks(await lastMail());
    const page = await h.app.inject({ url: more! });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('More papers like this?');
    expect(page.body).toContain(`action="${more}"`);
    expect(await votes()).toEqual([]);

    const posted = await h.app.inject({ method: 'POST', url: more! });
    expect(posted.statusCode).toBe(200);
    expect(posted.body).toContain('Your digests will bring more papers like');
    const paper = paperIdOf(more!);
    expect(await votes()).toEqual([[paper, 1]]);
    // Idempotent, and changeable.
    await h.app.inject({ method: 'POST', url: more! });
    expect(await votes()).toEqual([[paper, 1]]);
    await h.app.inject({ method: 'POST', url: more!.replace(/\/more$/, '/less') });
    expect(await votes()).toEqual([[paper, -1]]);
    const undone = await h.app.inject({ method: 'POST', url: more!.replace(/\/more$/, '/undo') });
    expect(undone.statusCode).toBe(200);
    expect(await votes()).toEqual([]);
  });

  it('refuses with a 4xx and records nothing: a paper not in that digest, another link’s token, a forged one', async () => {
    const mail = await lastMail();
    const [more] = voteLinks(mail);
    const other = await lastMail('other@example.org');
    const othersPapers = voteLinks(other).map(paperIdOf);
    const mine = voteLinks(mail).map(paperIdOf);
    const notMine = othersPapers.find((id) => !mine.includes(id));
    const token = /\/vote\/([^/]+)\//.exec(more!)![1]!;
    const viewToken = pathOf(linkIn(mail, '/d/')).replace('/d/', '');
    const manageToken = (await manageOf()).replace('/manage/', '');
    const requests = [
      // A paper the database has, never sent in this digest.
      ...(notMine ? [`/vote/${token}/${notMine}/more`] : []),
      `/vote/${token}/999999999/more`,
      `/vote/${viewToken}/${mine[0]}/more`,
      `/vote/${manageToken}/${mine[0]}/more`,
      `/vote/${token.slice(0, -2)}xx/${mine[0]}/more`,
      `/vote/${token}/${mine[0]}/sideways`,
      `/vote/${token}/abc/more`,
    ];
    for (const url of requests) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await h.app.inject({ method, url });
        expect([method, url, res.statusCode >= 400 && res.statusCode < 500]).toEqual([method, url, true]);
      }
    }
    expect(await votes()).toEqual([]);
  });

  it('lists votes on the preferences page, undoes one and forgets them all', async () => {
    const links = voteLinks(await lastMail());
    for (const l of [links[0], links[3]]) await h.app.inject({ method: 'POST', url: l! });
    expect((await votes()).length).toBe(2);
    const manage = await manageOf();
    const page = (await h.app.inject({ url: manage })).body;
    expect(page).toContain('More like this</td>');
    expect(page).toContain('Less like this</td>');
    const first = paperIdOf(links[0]!);
    const undo = await h.app.inject({ method: 'POST', url: `${manage}/votes/${first}/undo` });
    expect(undo.statusCode).toBe(200);
    expect((await votes()).map(([id]) => id)).not.toContain(first);
    // Undoing it again is a 404 that changes nothing.
    expect((await h.app.inject({ method: 'POST', url: `${manage}/votes/${first}/undo` })).statusCode).toBe(404);
    await h.app.inject({ method: 'POST', url: `${manage}/votes/reset` });
    expect(await votes()).toEqual([]);
  });

  it('follows an author from a paper’s page, and only a name that paper carries', async () => {
    const mail = await lastMail();
    const place = titlesOf(mail).indexOf('Kernel Tricks for Sparse Attention');
    expect(place).toBeGreaterThanOrEqual(0);
    const more = voteLinks(mail)[place * 2]!;
    const page = (await h.app.inject({ url: more })).body;
    const author = /name="name" value="([^"]+)"/.exec(page)?.[1];
    expect(author).toBe('Ana Ruíz');
    const follow = `${more!.replace(/\/more$/, '')}/follow`;
    const bad = await h.app.inject({ method: 'POST', url: follow, payload: { kind: 'author', name: 'Nobody Atall' } });
    expect(bad.statusCode).toBe(400);
    const ok = await h.app.inject({ method: 'POST', url: follow, payload: { kind: 'author', name: author } });
    expect(ok.statusCode).toBe(200);
    const { rows } = await h.services.db.query('SELECT kind, name FROM follows');
    expect(rows).toEqual([{ kind: 'author', name: author!.replace(/&#x27;/g, "'").replace(/&amp;/g, '&') }]);
  });

  it('follows by name through the API only when some paper carries that name', async () => {
    const token = (await manageOf()).replace('/manage/', '');
    const api = `/api/subscription/${token}`;
    const unknown = await h.app.inject({
      method: 'POST',
      url: `${api}/follows`,
      payload: { kind: 'author', name: 'Zz Nobody Writes Papers' },
    });
    expect(unknown.statusCode).toBe(404);
    const name = 'Bo Chen';
    // Written another way (case, periods and spacing do not count), it is the same person.
    const res = await h.app.inject({
      method: 'POST',
      url: `${api}/follows`,
      payload: { kind: 'author', name: 'BO  CHEN.' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().follows.map((f: { name: string }) => f.name)).toContain(name);
    const bad = await h.app.inject({ method: 'POST', url: `${api}/follows`, payload: { kind: 'lab', name } });
    expect(bad.statusCode).toBe(400);
    const off = await h.app.inject({ method: 'DELETE', url: `${api}/follows`, payload: { kind: 'author', name } });
    expect(off.statusCode).toBe(200);
    expect(off.json().follows.map((f: { name: string }) => f.name)).not.toContain(name);
  });

  it('looks up at most 30 names an hour for one subscriber, then answers 429 with Retry-After', async () => {
    const api = `/api/subscription/${(await manageOf()).replace('/manage/', '')}/follows`;
    const answers: number[] = [];
    // Two lookups so far in this hour (the test above); 28 more are allowed.
    for (let i = 0; i < 29; i++) {
      const res = await h.app.inject({ method: 'POST', url: api, payload: { kind: 'author', name: `Nobody ${i}` } });
      answers.push(res.statusCode);
      if (res.statusCode === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(answers).toEqual([...Array(28).fill(404), 429]);
    const { rows } = await h.services.db.query("SELECT count(*)::int AS n FROM follows WHERE name LIKE 'Nobody%'");
    expect(rows[0]?.n).toBe(0);
  });

  it('learns from votes: the next digest says what the reader taught it, and never sends an excluded term', async () => {
    const id = await idOf(EMAIL);
    const mail = await lastMail();
    const links = voteLinks(mail);
    // "More" on the first two papers, "less" on the last.
    await h.app.inject({ method: 'POST', url: links[0]! });
    await h.app.inject({ method: 'POST', url: links[2]! });
    await h.app.inject({ method: 'POST', url: links[9]! });
    const manage = await manageOf();
    await h.app.inject({ method: 'POST', url: manage, payload: { excludedTerms: 'language model' } });
    const { rows } = await h.services.db.query('SELECT excluded_terms FROM subscribers WHERE id = $1', [id]);
    expect(rows[0]?.excluded_terms).toEqual(['language model']);
    // A new paper by the author followed above, with little attention yet.
    h.clock.set('2026-03-04T07:00:00Z');
    await ingestHf(h, 'later', [byAnaAndBo('2603.10002', FOLLOWED_LATER, 1, '2026-03-04T06:00:00Z')]);

    expect(await h.services.digests.runNow(new Date('2026-03-04T08:00:05Z'))).toMatchObject({ sent: 2 });
    const next = await lastMail();
    const titles = titlesOf(next);
    expect(titles).toHaveLength(5);
    expect(titles.some((t) => titlesOf(mail).includes(t))).toBe(false);
    const why = whyOf(next);
    // The followed author's new paper first, saying so; then what the votes taught.
    expect(titles[0]).toBe(FOLLOWED_LATER);
    expect(why[0]).toMatch(/^by Ana Ruíz, whom you follow/);
    expect(why.some((w) => / you liked|from your votes: /.test(w))).toBe(true);
    // No paper sent matches the excluded term (every word, anywhere in its text).
    const sent = await h.services.db.query<{ title: string; abstract: string }>(
      `SELECT p.title, p.abstract FROM delivery_papers dp JOIN deliveries d ON d.id = dp.delivery_id
         JOIN papers p ON p.id = dp.paper_id WHERE dp.subscriber_id = $1 AND d.digest_date = '2026-03-04'`,
      [id],
    );
    for (const p of sent.rows)
      expect(`${p.title} ${p.abstract}`.toLowerCase()).not.toMatch(
        /\blanguage\b.*\bmodels?\b|\bmodels?\b.*\blanguage\b/s,
      );
    const model = await h.services.db.query('SELECT model FROM reader_models WHERE subscriber_id = $1', [id]);
    expect(model.rows[0]?.model.votes).toBe(3);
  });

  it('shows with `paperboy rank` what the next digest holds and why, with the score, changing nothing', async () => {
    const at = '2026-03-05T08:00:05Z';
    const before = await h.services.db.query('SELECT count(*)::int AS n FROM deliveries');
    const out = await runCli(['rank', '--email', EMAIL, '--at', at], h.env);
    expect(out.code).toBe(0);
    const ranked = [...out.stdout.matchAll(/^ ?\d+\. (.+?)(?: \[arXiv:[^\]]+\])?$/gm)].map(([, t]) => t);
    expect(ranked).toHaveLength(5);
    expect(out.stdout).toMatch(/why: .*(you liked|from your votes: ).*; score -?\d+\.\d{3}\)/);
    expect((await h.services.db.query('SELECT count(*)::int AS n FROM deliveries')).rows).toEqual(before.rows);

    expect(await h.services.digests.runNow(new Date(at))).toMatchObject({ sent: 2 });
    expect(titlesOf(await lastMail())).toEqual(ranked);
  });

  it('gives the papers the reader liked as BibTeX, from the preferences page', async () => {
    const manage = await manageOf();
    expect((await h.app.inject({ url: manage })).body).toContain(`href="${manage}/liked.bib"`);
    const res = await h.app.inject({ url: `${manage}/liked.bib` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/x-bibtex; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="paperboy-liked.bib"');
    const { rows } = await h.services.db.query<{ title: string }>(
      `SELECT p.title FROM paper_votes v JOIN papers p ON p.id = v.paper_id
        WHERE v.value = 1 ORDER BY v.voted_at, v.paper_id`,
    );
    expect(rows).toHaveLength(2);
    expect(res.body.match(/^@misc\{/gm)).toHaveLength(2);
    const titles = [...res.body.matchAll(/^ {2}title = \{(.*)\},$/gm)].map((m) => m[1]);
    expect(titles).toHaveLength(2);
    // The paper disliked is not among them; a token of another link gets nothing.
    expect((await h.app.inject({ url: `/manage/${'x'.repeat(30)}/liked.bib` })).statusCode).toBe(400);
  });

  it('trains the reader’s model in a worker soon after a vote, so planning finds it ready', async () => {
    const id = await idOf(EMAIL);
    const model = async () =>
      (
        await h.services.db.query<{ model: { votes: number }; trained_at: Date }>(
          'SELECT model, trained_at FROM reader_models WHERE subscriber_id = $1',
          [id],
        )
      ).rows[0];
    const votesBefore = (await model())?.model.votes ?? 0;
    h.startWorkers();
    const links = voteLinks(await lastMail());
    expect((await h.app.inject({ method: 'POST', url: links[4]! })).statusCode).toBe(200);
    await eventually(async () => expect((await model())?.model.votes).toBe(votesBefore + 1));
    const trained = (await model())?.trained_at;
    // The next planning uses it as it is.
    await h.stopWorkers();
    expect(await h.services.digests.runNow(new Date('2026-03-06T08:00:05Z'))).toMatchObject({ sent: 2 });
    expect((await model())?.trained_at).toEqual(trained);
  });

  it('exports votes, follows and the model, and erasing removes them', async () => {
    const id = await idOf(EMAIL);
    const manage = await manageOf();
    const exported = JSON.parse((await h.app.inject({ url: `${manage}/export` })).body);
    expect(exported.votes).toHaveLength(4);
    expect(exported.model.model.votes).toBe(4);
    expect(Array.isArray(exported.follows)).toBe(true);
    await h.app.inject({ method: 'POST', url: `${manage}/erase` });
    for (const table of ['paper_votes', 'follows', 'reader_models']) {
      const { rows } = await h.services.db.query(`SELECT count(*)::int AS n FROM ${table} WHERE subscriber_id = $1`, [
        id,
      ]);
      expect([table, rows[0]?.n]).toEqual([table, 0]);
    }
  });
});
