import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { createHarness, type Harness, ingestHf, parse, subscribeAndConfirm } from './support/harness.ts';

/** Gmail clips a message whose HTML passes 102 KB, hiding the rest behind a link. */
const GMAIL_CLIP_BYTES = 102 * 1024;

/** What a digest item carries, read from the real mail the test SMTP sink caught, both parts. */
describe('a digest item worth opening', () => {
  let h: Harness;
  const hostile = '<script>alert("x")</script> & Robots';
  const mails: Record<string, { raw: Buffer; mail: ParsedMail }> = {};

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
          organization: { fullname: 'Lab <img src="https://tracker.example/x.png">' },
          ai_summary: 'Robots, in <i>one</i> line.',
          githubRepo: 'https://github.com/ada/robots',
          githubStars: 1234,
          projectPage: 'https://robots.example/',
          upvotes: 5000,
          submittedOnDailyAt: '2026-03-06T10:00:00Z',
        },
        numComments: 7,
      },
    ]);
    h.startWorkers();
    for (const n of [10, 25]) await subscribeAndConfirm(h, `reader${n}@example.org`, { maxPapers: n });
    await h.services.digests.runNow(new Date('2026-03-07T09:00:00Z'));
    for (const n of [10, 25]) {
      const caught = await h.sink.waitFor((m) => m.to.includes(`reader${n}@example.org`) && !m.raw.includes('Confirm'));
      mails[n] = { raw: caught.raw, mail: await parse(caught) };
    }
  });
  afterAll(async () => h?.close());

  it('shows authors, organization, the one-line summary above the abstract, signals and links, in both parts', () => {
    const { mail } = mails[25]!;
    const html = mail.html as string;
    const text = mail.text as string;
    // HTML: escaped, in order.
    const item = html.slice(html.indexOf('1. <a'), html.indexOf('2. <a'));
    expect(item).toContain(
      '<a href="https://arxiv.org/abs/2603.77777">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Robots</a>',
    );
    const order = [
      '&lt;b&gt;Ada&lt;/b&gt;, Grace Hopper, Alan Turing et al. · Lab &lt;img src&#x3D;&quot;https://tracker.example/x.png&quot;&gt;',
      'Robots, in &lt;i&gt;one&lt;/i&gt; line.',
      'Robots everywhere.',
      '5,000 upvotes · 7 comments · 1,234 GitHub stars · Why:',
      '<a href="https://arxiv.org/abs/2603.77777">arXiv</a>',
      '<a href="https://arxiv.org/pdf/2603.77777">PDF</a>',
      '<a href="https://github.com/ada/robots">Code (1,234 ★)</a>',
      '<a href="https://robots.example/">Project page</a>',
      '<a href="https://huggingface.co/papers/2603.77777">Hugging Face</a>',
    ];
    const at = order.map((s) => item.indexOf(s));
    expect(
      at.every((i) => i > 0),
      JSON.stringify(order.filter((_, i) => at[i]! < 0)),
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);

    // Plain text: the same information, line by line.
    const first = text.slice(text.indexOf('1. '), text.indexOf('\n2. '));
    expect(first).toContain(
      [
        `1. ${hostile}`,
        '   <b>Ada</b>, Grace Hopper, Alan Turing et al. · Lab <img src="https://tracker.example/x.png">',
        '   Robots, in <i>one</i> line.',
        '   Robots everywhere.',
        '   5,000 upvotes · 7 comments · 1,234 GitHub stars',
      ].join('\n'),
    );
    for (const line of [
      '   arXiv: https://arxiv.org/abs/2603.77777',
      '   PDF: https://arxiv.org/pdf/2603.77777',
      '   Code (1,234 ★): https://github.com/ada/robots',
      '   Project page: https://robots.example/',
      '   Hugging Face: https://huggingface.co/papers/2603.77777',
    ]) {
      expect(first).toContain(line);
    }
  });

  it('links a paper without an arXiv id to its own page on the site, never to a search', async () => {
    const { mail } = mails[25]!;
    const html = mail.html as string;
    const text = mail.text as string;
    const own = [...html.matchAll(/href="http:\/\/paperboy\.test\/papers\/(\d+)"/g)].map((m) => m[1]);
    expect(own.length).toBeGreaterThan(0);
    expect(text).toContain(`Paper page: http://paperboy.test/papers/${own[0]}`);
    expect(html).not.toContain('arxiv.org/search');
    expect(text).not.toContain('arxiv.org/search');
    const page = await h.app.inject({ method: 'GET', url: `/papers/${own[0]}` });
    expect(page.statusCode).toBe(200);
  });

  it('fetches nothing remote when opened', () => {
    for (const n of [10, 25]) {
      const html = mails[n]!.mail.html as string;
      expect(html).not.toMatch(/<img\b/i);
      expect(html).not.toMatch(/url\(/i);
      expect(html).not.toMatch(/<link\b[^>]*stylesheet/i);
    }
  });

  it('stays under Gmail’s clipping size with 25 papers', () => {
    const sizes = [10, 25].map((n) => {
      const { raw, mail } = mails[n]!;
      const papers = [...(mail.text as string).matchAll(/^\d+\. /gm)].length;
      expect(papers).toBe(n);
      return { papers, htmlBytes: Buffer.byteLength(mail.html as string), messageBytes: raw.length };
    });
    // The figures README quotes under Benchmarks.
    console.log(`digest size: ${JSON.stringify(sizes)}`);
    expect(sizes[1]!.htmlBytes).toBeLessThan(GMAIL_CLIP_BYTES);
    expect(sizes[1]!.messageBytes).toBeLessThan(GMAIL_CLIP_BYTES);
  });
});
