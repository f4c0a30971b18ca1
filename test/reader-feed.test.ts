import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, linkIn, parse, pathOf } from './support/harness.ts';

const entries = (atom: string) =>
  [...atom.matchAll(/<entry>[\s\S]*?<title>([^<]*)<\/title>\s*<link href="([^"]*)"\/>[\s\S]*?<\/entry>/g)].map(
    ([, title, link]) => ({ title, link }),
  );

describe('a reader’s private feed of their own digests', () => {
  let h: Harness;
  const manageOf = async (email: string) => pathOf(linkIn(await parse(h.sink.to(email).at(-1)!), '/manage/'));
  const feedLinkOn = async (manage: string) => {
    const html = (await h.app.inject({ url: manage })).body;
    const link = /<a href="(http:\/\/paperboy\.test\/feed\/[^"]+\.xml)">/.exec(html)?.[1];
    expect(link).toBeDefined();
    return pathOf(link!);
  };

  beforeAll(async () => {
    h = await createHarness();
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, send_hour, next_send_at, max_papers, confirmed_at)
       VALUES ('feed@example.org', 'active', 8, '2026-03-03T08:00Z', 3, '2026-03-01T00:00Z'),
              ('neighbour@example.org', 'active', 8, '2026-03-04T08:00Z', 3, '2026-03-01T00:00Z')`,
    );
    expect(await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'))).toMatchObject({ sent: 1 });
    expect(await h.services.digests.runNow(new Date('2026-03-04T08:00:05Z'))).toMatchObject({ sent: 2 });
    h.clock.set('2026-03-04T09:00:00Z');
  });
  afterAll(async () => h?.close());

  it('holds the digests sent, newest first, each linking to its web version with its papers', async () => {
    const feed = await feedLinkOn(await manageOf('feed@example.org'));
    const res = await h.app.inject({ url: feed });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).not.toContain('feed@example.org');

    const mails = await Promise.all(h.sink.to('feed@example.org').map(parse));
    expect(entries(res.body)).toEqual([
      { title: 'Your digest of 4 March 2026: 3 papers', link: linkIn(mails[1]!, '/d/') },
      { title: 'Your digest of 3 March 2026: 3 papers', link: linkIn(mails[0]!, '/d/') },
    ]);
    // Each entry carries the papers its mail carried.
    const firstTitle = /^1\. (.+)$/m.exec(mails[1]!.text ?? '')?.[1];
    expect(firstTitle).toBeDefined();
    const escaped = firstTitle!.replace(/&/g, '&amp;amp;').replace(/</g, '&amp;lt;');
    expect(res.body.split('<entry>')[1]).toContain(escaped);

    // Another reader's feed holds only theirs.
    const neighbour = await h.app.inject({ url: await feedLinkOn(await manageOf('neighbour@example.org')) });
    expect(entries(neighbour.body).map((e) => e.title)).toEqual(['Your digest of 4 March 2026: 3 papers']);
  });

  it('has a token that does only that', async () => {
    const manage = await manageOf('feed@example.org');
    const feedToken = (await feedLinkOn(manage)).replace(/^\/feed\//, '').replace(/\.xml$/, '');
    const manageToken = manage.replace(/^\/manage\//, '');
    for (const req of [
      { method: 'GET' as const, url: `/manage/${feedToken}` },
      { method: 'POST' as const, url: `/manage/${feedToken}/pause` },
      { method: 'GET' as const, url: `/d/${feedToken}` },
      { method: 'POST' as const, url: `/u/${feedToken}` },
      { method: 'GET' as const, url: `/api/subscription/${feedToken}` },
      // And no other link's token opens a feed.
      { method: 'GET' as const, url: `/feed/${manageToken}.xml` },
    ]) {
      const res = await h.app.inject(req);
      expect([req.url, res.statusCode]).toEqual([req.url, 400]);
    }
    expect((await h.app.inject({ url: `/feed/${feedToken}` })).statusCode).toBe(404);
    const { rows } = await h.services.db.query("SELECT status FROM subscribers WHERE email = 'feed@example.org'");
    expect(rows).toEqual([{ status: 'active' }]);
  });

  it('stops with “sign out all links”, and the page then shows a new feed that works', async () => {
    const manage = await manageOf('feed@example.org');
    const before = await feedLinkOn(manage);
    expect((await h.app.inject({ method: 'POST', url: `${manage}/revoke-links` })).statusCode).toBe(200);
    const old = await h.app.inject({ url: before });
    expect(old.statusCode).toBe(400);
    expect(JSON.parse(old.body)).toMatchObject({ error: 'revoked_token' });

    const fresh = h.services.links.manage({ id: await idOf('feed@example.org'), token_epoch: 1 }, h.clock.now());
    const after = await feedLinkOn(pathOf(fresh));
    expect(after).not.toBe(before);
    expect(entries((await h.app.inject({ url: after })).body)).toHaveLength(2);
  });

  it('ends with the subscriber’s erasure', async () => {
    const manage = await manageOf('neighbour@example.org');
    const feed = await feedLinkOn(manage);
    expect((await h.app.inject({ method: 'POST', url: `${manage}/erase` })).statusCode).toBe(200);
    expect((await h.app.inject({ url: feed })).statusCode).toBe(404);
  });

  const idOf = async (email: string) =>
    (await h.services.db.query<{ id: number }>('SELECT id FROM subscribers WHERE email = $1', [email])).rows[0]!.id;
});
