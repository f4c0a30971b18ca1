import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { createHarness, type Harness, ingestHf } from './support/harness.ts';

/** The papers' cards of a page: each article's HTML. */
const cards = (html: string) => html.match(/<article class="card paper">[\s\S]*?<\/article>/g) ?? [];
const titleOf = (card: string) => /<h2><a href="[^"]*">([^<]*)<\/a><\/h2>/.exec(card)?.[1];

describe('the home page and the paper pages', () => {
  let h: Harness;
  const hostile = '<script>alert("x")</script> & Robots';
  beforeAll(async () => {
    h = await createHarness();
    h.clock.set('2026-03-06T12:00:00Z');
    await h.services.papers.ingest(path.join(ROOT, 'test/fixtures/hf-daily-papers.json'), 'hf');
    await ingestHf(h, 'hostile', [
      {
        paper: {
          id: '2603.77777',
          title: hostile,
          summary: 'Robots everywhere.',
          authors: ['<b>Ada</b>', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra'].map((name) => ({ name })),
          organization: { name: 'evil', fullname: '<img src=x onerror=alert(1)>' },
          ai_summary: 'A "summary" with <i>markup</i>.',
          githubRepo: 'javascript:alert(1)',
          upvotes: 5000,
          submittedOnDailyAt: '2026-03-06T10:00:00Z',
        },
        numComments: 7,
      },
    ]);
  });
  afterAll(async () => h?.close());

  const get = (url: string) => h.app.inject({ method: 'GET', url });

  it('shows the subscribe form, then the trending papers with their fields, hostile text escaped', async () => {
    const res = await get('/');
    expect(res.statusCode).toBe(200);
    expect(res.body.indexOf('action="/subscribe"')).toBeLessThan(res.body.indexOf('<article'));
    const list = cards(res.body);
    expect(list).toHaveLength(20);
    // The most trending first: the hostile paper, escaped everywhere it shows.
    const first = list[0] as string;
    expect(first).toContain(
      '<a href="https://arxiv.org/abs/2603.77777">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Robots</a>',
    );
    expect(first).toContain('<p class="authors">&lt;b&gt;Ada&lt;/b&gt;, Grace Hopper, Alan Turing et al.</p>');
    expect(first).toContain('<p class="org muted">&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;</p>');
    expect(first).toContain('<p class="summary">A &quot;summary&quot; with &lt;i&gt;markup&lt;/i&gt;.</p>');
    expect(first).toContain('5,000 upvotes · 7 comments');
    expect(first).toContain('Trending: +5000 upvotes today');
    expect(first).toContain('href="https://arxiv.org/pdf/2603.77777"');
    expect(first).toContain('href="https://huggingface.co/papers/2603.77777"');
    expect(res.body).not.toContain('javascript:');
    expect(res.body).not.toMatch(/<(script|img|b|i)[ >](?!.*src="\/assets\/)/);

    // A paper with its code, project page and organization from Hugging Face.
    const circle = list.find((c) => c.includes('2602.23229')) as string;
    expect(circle).toContain('<p class="authors">Marco Garosi, Ana Ruiz</p>');
    expect(circle).toContain('<p class="org muted">University of Modena</p>');
    expect(circle).toContain(
      '<p class="summary">Large Multimodal Models demonstrate strong in-context classification.</p>',
    );
    expect(circle).toContain('10 upvotes · 1 comment · 9 GitHub stars');
    expect(circle).toContain('<a href="https://github.com/marco-garosi/CIRCLE">Code (9 ★)</a>');
    expect(circle).toContain('<a href="https://circle-lmm.github.io/">Project page</a>');

    // A seed paper has no arXiv id: it links to its own page, never to a search.
    const seed = list.find((c) => !c.includes('arxiv.org')) as string;
    expect(seed).toMatch(/<h2><a href="http:\/\/paperboy\.test\/papers\/\d+">/);
    expect(res.body).not.toContain('arxiv.org/a/');
    expect(res.body).not.toMatch(/href="[^"]*search[^"]*"/);
    expect(res.body).toContain('<a rel="next" href="/?page&#x3D;2">');
    expect(res.body).not.toContain('rel="prev"');
  });

  it('pages through the rest of the list', async () => {
    const one = cards((await get('/')).body).map(titleOf);
    const twoRes = await get('/?page=2');
    expect(twoRes.statusCode).toBe(200);
    const two = cards(twoRes.body).map(titleOf);
    expect(two).toHaveLength(20);
    expect(two.filter((t) => one.includes(t))).toEqual([]);
    expect(twoRes.body).toContain('<a rel="prev" href="/">');
    expect(twoRes.body).toContain('<a rel="next" href="/?page&#x3D;3">');

    // 270 seed papers and 4 from Hugging Face: the 14th page holds the last 14, and no "more".
    const last = await get('/?page=14');
    expect(cards(last.body)).toHaveLength(14);
    expect(last.body).not.toContain('rel="next"');
    const beyond = await get('/?page=15');
    expect(beyond.statusCode).toBe(200);
    expect(cards(beyond.body)).toHaveLength(0);

    for (const bad of ['/?page=0', '/?page=abc', '/?page=-1', '/?page=100000']) {
      expect((await get(bad)).statusCode, bad).toBe(400);
    }
  });

  it('filters by topics as the feed does, and keeps them in its links and form', async () => {
    const res = await get('/?topics=multimodal');
    expect(res.statusCode).toBe(200);
    const feed = await get('/feed.json?topics=multimodal');
    const expected = (JSON.parse(feed.body).items as { title: string }[]).map((i) => i.title).slice(0, 20);
    const shown = cards(res.body).map(titleOf);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(20 * 14);
    expect(shown.map((t) => t?.replace(/&amp;/g, '&'))).toEqual(expected);
    expect(res.body).toContain('Trending on multimodal');
    expect(res.body).toContain('id="filter-topics" name="topics" value="multimodal"');
    if (shown.length === 20) expect(res.body).toContain('href="/?topics&#x3D;multimodal&amp;page&#x3D;2"');

    const none = await get('/?topics=nothing-matches-this-word');
    expect(cards(none.body)).toHaveLength(0);
    expect(none.body).toContain('No trending paper matches these topics.');
    const hostileTopic = await get(`/?topics=${encodeURIComponent('"><script>x</script>')}`);
    expect(hostileTopic.body).not.toContain('<script>x');
  });

  it('serves a page of its own for each paper, with the same fields', async () => {
    const circle = await h.services.db.query<{ id: string }>("SELECT id FROM papers WHERE arxiv_id = '2602.23229'");
    const res = await get(`/papers/${circle.rows[0]?.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>Large Multimodal Models as General In-Context Classifiers · Paperboy</title>');
    expect(res.body).toContain('<p class="authors">Marco Garosi, Ana Ruiz</p>');
    expect(res.body).toContain('University of Modena');
    expect(res.body).toContain('Large Multimodal Models demonstrate strong in-context classification.');
    // The whole abstract, not folded away.
    expect(res.body).toMatch(/<p class="abstract">Which multimodal model should we use for classification\?/);
    expect(res.body).toContain('10 upvotes · 1 comment · 9 GitHub stars');
    expect(res.body).toContain('href="https://arxiv.org/pdf/2602.23229"');

    const seed = await h.services.db.query<{ id: string; title: string }>(
      'SELECT id, title FROM papers WHERE arxiv_id IS NULL ORDER BY id LIMIT 1',
    );
    const own = await get(`/papers/${seed.rows[0]?.id}`);
    expect(own.statusCode).toBe(200);
    expect(own.body).toContain(`<a href="http://paperboy.test/papers/${seed.rows[0]?.id}">`);
    expect(own.body).not.toContain('arxiv.org');
    expect(own.body).not.toContain('>Paper page</a>');

    expect((await get('/papers/999999999')).statusCode).toBe(404);
    expect((await get('/papers/999999999')).body).toContain('No such paper');
    for (const bad of ['/papers/abc', '/papers/0', '/papers/1.5', '/papers/-3', '/papers/99999999999999999999']) {
      const r = await get(bad);
      expect(r.statusCode, bad).toBe(400);
      expect(r.headers['content-type'], bad).toMatch(/^text\/html/);
    }
  });
});
