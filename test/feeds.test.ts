import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { createHarness, type Harness, ingestHf } from './support/harness.ts';

describe('feeds', () => {
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
          summary: 'Robots \u0001 everywhere.',
          upvotes: 5000,
          submittedOnDailyAt: '2026-03-06T10:00:00Z',
        },
      },
    ]);
  });
  afterAll(async () => h?.close());

  it('serves an Atom feed of the trending papers, escaped, most trending first', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/feed.xml' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/atom\+xml/);
    const doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      isArray: (n) => ['entry', 'author', 'link', 'category'].includes(n),
    }).parse(res.body, true);
    const feed = doc.feed;
    expect(feed['@xmlns']).toBe('http://www.w3.org/2005/Atom');
    expect(feed.id).toBe('http://paperboy.test/feed.xml');
    expect(feed.title).toBe('Paperboy: trending papers');
    expect(feed.entry.length).toBe(50);
    const first = feed.entry[0];
    expect(first.title).toBe(hostile);
    expect(first.id).toBe('https://arxiv.org/abs/2603.77777');
    expect(first.link[0]['@href']).toBe('https://arxiv.org/abs/2603.77777');
    expect(first.summary).toMatch(/^\+5000 upvotes today\. Robots\s+everywhere\.$/);
    for (const e of feed.entry) {
      expect(e.id).toBeTruthy();
      expect(e.updated).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(e.author.length).toBeGreaterThan(0);
    }
    expect(res.body).not.toContain('<script>');
  });

  it('narrows the feed to topics, and refuses invalid ones', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/feed.json?topics=robot' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/feed\+json/);
    const feed = res.json();
    expect(feed).toMatchObject({
      version: 'https://jsonfeed.org/version/1.1',
      title: 'Paperboy: trending papers on robot',
      feed_url: 'http://paperboy.test/feed.json?topics=robot',
    });
    expect(feed.items.slice(0, 2).map((i: { title: string }) => i.title)).toEqual([
      hostile,
      'LoRA Adapters Everywhere: Parameter-Efficient Robot Policies',
    ]);
    const all = (await h.app.inject({ method: 'GET', url: '/feed.json' })).json().items.length;
    expect(feed.items.length).toBeLessThan(all);
    for (const item of feed.items) {
      expect(`${item.title} ${item.content_text}`, item.title).toMatch(/robot/i);
      expect(item.id).toMatch(/^(https:\/\/arxiv\.org\/abs\/|urn:paperboy:paper:)/);
      // A paper without an arXiv id links to its own page here, never to a search.
      expect(item.url).toMatch(/^(https:\/\/arxiv\.org\/abs\/|http:\/\/paperboy\.test\/papers\/\d+$)/);
      expect(typeof item.content_text).toBe('string');
    }
    const bad = await h.app.inject({ method: 'GET', url: `/feed.xml?topics=${encodeURIComponent('a\r\nb')}` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_request' });
  });
});
