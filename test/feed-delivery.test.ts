import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, linkIn, parse, pathOf } from './support/harness.ts';

const entries = (atom: string) => [...atom.matchAll(/<entry>[\s\S]*?<title>([^<]*)<\/title>/g)].map(([, t]) => t);

/** Digests by email, only in the reader's private feed, or both (issue #21). */
describe('the choice of email, feed or both', () => {
  let h: Harness;
  const subscriber = async (email: string) =>
    (
      await h.services.db.query<{ id: number; token_epoch: number }>(
        'SELECT id, token_epoch FROM subscribers WHERE email = $1',
        [email],
      )
    ).rows[0]!;
  const feedOf = async (email: string) =>
    (await h.app.inject({ url: pathOf(h.services.links.feed(await subscriber(email))) })).body;

  beforeAll(async () => {
    h = await createHarness();
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, send_hour, next_send_at, max_papers, delivery, confirmed_at)
       VALUES ('feed-only@example.org', 'active', 8, '2026-03-03T08:00Z', 3, 'feed', '2026-03-01T00:00Z'),
              ('both@example.org', 'active', 8, '2026-03-03T08:00Z', 3, 'both', '2026-03-01T00:00Z'),
              ('mail@example.org', 'active', 8, '2026-03-03T08:00Z', 3, 'email', '2026-03-01T00:00Z')`,
    );
  });
  afterAll(async () => h?.close());

  it('records a feed-only reader’s digest in their feed and mails nothing; mails the others', async () => {
    const r = await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'));
    expect(r).toMatchObject({ due: 3, sent: 2, published: 1, skipped: 0, deferred: 0 });

    expect(h.sink.to('feed-only@example.org')).toHaveLength(0);
    expect(h.sink.to('both@example.org')).toHaveLength(1);
    expect(h.sink.to('mail@example.org')).toHaveLength(1);

    const { rows } = await h.services.db.query(
      `SELECT s.email, d.status, d.attempts, d.message_id IS NOT NULL AS mailed, d.paper_count
         FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id ORDER BY s.email`,
    );
    expect(rows).toEqual([
      { email: 'both@example.org', status: 'sent', attempts: 1, mailed: true, paper_count: 3 },
      { email: 'feed-only@example.org', status: 'sent', attempts: 1, mailed: false, paper_count: 3 },
      { email: 'mail@example.org', status: 'sent', attempts: 1, mailed: true, paper_count: 3 },
    ]);

    expect(entries(await feedOf('feed-only@example.org'))).toEqual(['Your digest of 3 March 2026: 3 papers']);
    expect(entries(await feedOf('both@example.org'))).toEqual(['Your digest of 3 March 2026: 3 papers']);

    // The feed entry links to the digest's web version, which shows its papers.
    const link = /<link href="(http:\/\/paperboy\.test\/d\/[^"]+)"\/>/.exec(await feedOf('feed-only@example.org'))?.[1];
    const web = await h.app.inject({ url: pathOf(link!) });
    expect(web.statusCode).toBe(200);
    const titles = await h.services.db.query<{ title: string }>(
      `SELECT p.title FROM delivery_papers dp JOIN papers p ON p.id = dp.paper_id
         JOIN subscribers s ON s.id = dp.subscriber_id WHERE s.email = 'feed-only@example.org' ORDER BY dp.position`,
    );
    expect(titles.rows).toHaveLength(3);
    for (const { title } of titles.rows) {
      expect(web.body).toContain(title.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    }
  });

  it('does not deliver it twice when its batch runs again', async () => {
    const { rows } = await h.services.db.query<{ id: number }>('SELECT id FROM deliveries ORDER BY id');
    const again = await h.services.sender.sendBatch(
      rows.map((d) => d.id),
      { now: new Date('2026-03-03T08:05:00Z') },
    );
    expect(again).toMatchObject({ sent: 0, published: 0, notOwed: 3 });
    expect(entries(await feedOf('feed-only@example.org'))).toHaveLength(1);
  });

  it('shows the day in the history as in the feed, and is chosen on the preferences form and in the API', async () => {
    h.clock.set('2026-03-03T09:00:00Z');
    const s = await subscriber('feed-only@example.org');
    const manage = pathOf(h.services.links.manage(s, h.clock.now()));
    const html = (await h.app.inject({ url: manage })).body;
    expect(html).toMatch(
      /<tr class="history-sent"><td><time datetime="2026-03-03">2026-03-03<\/time><\/td><td>In your feed: 3 papers · <a href/,
    );
    expect(html).toMatch(/<option value="feed" selected>/);

    const api = `/api/subscription/${manage.replace(/^\/manage\//, '')}`;
    expect((await h.app.inject({ url: api })).json().preferences.delivery).toBe('feed');
    const bad = await h.app.inject({ method: 'PATCH', url: api, payload: { delivery: 'pigeon' } });
    expect(bad.statusCode).toBe(400);
    const form = await h.app.inject({
      method: 'POST',
      url: manage,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'delivery=both',
    });
    expect(form.statusCode).toBe(200);
    expect((await h.app.inject({ url: api })).json().preferences.delivery).toBe('both');

    // Mail again from the next digest on.
    const r = await h.services.digests.runNow(new Date('2026-03-04T08:00:05Z'));
    expect(r).toMatchObject({ sent: 3, published: 0 });
    const [mail] = await Promise.all(h.sink.to('feed-only@example.org').map(parse));
    expect(linkIn(mail!, '/d/')).toMatch(/^http:\/\/paperboy\.test\/d\//);
    expect(entries(await feedOf('feed-only@example.org'))).toHaveLength(2);
  });
});
