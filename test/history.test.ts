import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, linkIn, parse, pathOf } from './support/harness.ts';

/** The rows of the preferences page's history: [local day, kind, text] (with "· read it" when linked). */
function historyOf(html: string) {
  const rows = [
    ...html.matchAll(
      /<tr class="history-(\w+)"><td><time datetime="([\d-]+)">[\d-]+<\/time><\/td><td>(.*?)<\/td><\/tr>/g,
    ),
  ];
  return rows.map(([, kind, day, cell]) => [day, kind, (cell ?? '').replace(/<a href="[^"]*">([^<]*)<\/a>/g, '$1')]);
}

const nextDigest = (html: string) => /Next digest: <strong>([^<]*)<\/strong>/.exec(html)?.[1];

describe('the preferences page shows the last 30 days', () => {
  let h: Harness;
  let manage: string;
  const page = async () => {
    const res = await h.app.inject({ url: manage });
    expect(res.statusCode).toBe(200);
    return res.body;
  };
  const post = async (action: string) => {
    const res = await h.app.inject({ method: 'POST', url: `${manage}/${action}` });
    expect(res.statusCode).toBe(200);
  };

  beforeAll(async () => {
    h = await createHarness();
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, topics, timezone, send_hour, next_send_at, confirmed_at)
       VALUES ('days@example.org', 'active', '{robotics}', 'UTC', 8, '2026-03-03T08:00Z', '2026-03-01T00:00Z'),
              ('other@example.org', 'active', '{}', 'UTC', 8, '2026-03-03T08:00Z', '2026-03-01T00:00Z')`,
    );
    // 3 March: sent.
    expect(await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'))).toMatchObject({ sent: 2 });
    manage = pathOf(linkIn(await parse(h.sink.to('days@example.org')[0]!), '/manage/'));
    // Paused from 3 March 12:00 to 5 March 12:00: the 4th and the 5th at 08:00 fall inside.
    h.clock.set('2026-03-03T12:00:00Z');
    await post('pause');
    h.clock.set('2026-03-05T12:00:00Z');
    await post('resume');
    // 6 March: Paperboy was down until 21:00, 13 hours past the hour.
    expect(await h.services.digests.runNow(new Date('2026-03-06T21:00:00Z'))).toMatchObject({ skipped: 2 });
    // 7 March: no paper is news any more.
    await h.services.db.query("UPDATE papers SET fresh_at = '2025-01-01T00:00Z'");
    expect(await h.services.digests.runNow(new Date('2026-03-07T08:00:05Z'))).toMatchObject({ sent: 0, skipped: 2 });
  });
  afterAll(async () => h?.close());

  it('lists each day sent with its web version, skipped and why, and paused, and the next digest’s time', async () => {
    h.clock.set('2026-03-07T10:00:00Z');
    const html = await page();
    expect(historyOf(html)).toEqual([
      ['2026-03-07', 'skipped', 'Skipped: nothing new for your topics, nor in the trending list'],
      ['2026-03-06', 'skipped', 'Skipped: too late, after an outage delayed it past its hour'],
      ['2026-03-05', 'paused', 'Not sent: your digests were paused'],
      ['2026-03-04', 'paused', 'Not sent: your digests were paused'],
      ['2026-03-03', 'sent', expect.stringMatching(/^Sent: \d+ papers · read it$/)],
    ]);
    expect(nextDigest(html)).toBe('Sunday 8 March at 08:00 (UTC)');

    // "read it" opens the digest as mailed, with its vote links: the reader's own copy, behind
    // this page's token (the shareable web version has no votes).
    const link = /href="(http:\/\/paperboy\.test\/manage\/[^"]+\/digests\/\d+)"/.exec(html)?.[1];
    expect(link).toBeDefined();
    const mail = await parse(h.sink.to('days@example.org')[0]!);
    const web = await h.app.inject({ url: pathOf(link!) });
    expect(web.statusCode).toBe(200);
    const titles = (s: string) => [...s.matchAll(/class="paper-title">\d+\. <a [^>]*>([^<]+)<\/a>/g)].map((m) => m[1]);
    expect(titles(web.body)).toEqual(titles(String(mail.html)));
    const votes = (s: string) => [...s.matchAll(/href="(http:\/\/paperboy\.test\/vote\/[^"]+)"/g)].map((m) => m[1]);
    expect(votes(web.body)).toEqual(votes(String(mail.html)));
    expect(votes(web.body).length).toBeGreaterThan(0);
    // The shareable web version carries none.
    expect(votes((await h.app.inject({ url: pathOf(linkIn(mail, '/d/')) })).body)).toEqual([]);
    // Another reader's digest is not this token's to open.
    const other = pathOf(link!).replace(/\d+$/, '999999');
    expect((await h.app.inject({ url: other })).statusCode).toBe(404);
  });

  it('says “nothing new in the trending list” to a reader without topics, and shows no one else’s days', async () => {
    const other = pathOf(linkIn(await parse(h.sink.to('other@example.org')[0]!), '/manage/'));
    const rows = historyOf((await h.app.inject({ url: other })).body);
    expect(rows.map(([day]) => day)).toEqual(['2026-03-07', '2026-03-06', '2026-03-03']);
    expect(rows[0]).toEqual(['2026-03-07', 'skipped', 'Skipped: nothing new in the trending list']);
  });

  it('counts the days of a pause still running, and only the last 30 local days', async () => {
    await post('pause');
    h.clock.set('2026-03-09T10:00:00Z');
    let html = await page();
    expect(historyOf(html).slice(0, 3)).toEqual([
      ['2026-03-09', 'paused', 'Not sent: your digests were paused'],
      ['2026-03-08', 'paused', 'Not sent: your digests were paused'],
      ['2026-03-07', 'skipped', 'Skipped: nothing new for your topics, nor in the trending list'],
    ]);
    expect(nextDigest(html)).toBeUndefined();
    expect(html).toContain('No digest is scheduled.');
    // The pauses are part of what the reader downloads.
    const data = JSON.parse((await h.app.inject({ url: `${manage}/export` })).body);
    expect(data.pauses).toEqual([
      { paused_at: '2026-03-03T12:00:00.000Z', ended_at: '2026-03-05T12:00:00.000Z' },
      { paused_at: '2026-03-07T10:00:00.000Z', ended_at: null },
    ]);

    // 5 April: the 30 days are 7 March to 5 April; 3 March's digest has left the page.
    h.clock.set('2026-04-05T10:00:00Z');
    html = await page();
    const days = historyOf(html).map(([day]) => day);
    expect(days).toHaveLength(30);
    expect(days[0]).toBe('2026-04-05');
    expect(days.at(-1)).toBe('2026-03-07');
  });

  it('says a digest planned but not yet sent when the reader paused was not sent because of the pause', async () => {
    h.clock.set('2026-04-05T10:00:00Z');
    await post('resume');
    await h.services.db.query("UPDATE papers SET fresh_at = '2026-04-06T00:00Z'");
    // Planned, not sent (no worker runs), then paused before it went out.
    await h.services.digests.tick(new Date('2026-04-06T08:00:05Z'));
    h.clock.set('2026-04-06T08:30:00Z');
    await post('pause');
    const rows = historyOf(await page());
    expect(rows[0]).toEqual(['2026-04-06', 'skipped', 'Not sent: your digests were paused']);
    expect(rows[1]).toEqual(['2026-04-05', 'paused', 'Not sent: your digests were paused']);
  });
});

describe('the history in the reader’s time zone', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  it('files days and shows the next digest in the reader’s own zone', async () => {
    // 07:00 in Auckland (UTC+13 in March) is 18:00 UTC the day before.
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
       VALUES ('kiwi@example.org', 'active', 'Pacific/Auckland', 7, '2026-03-02T18:00Z', '2026-03-01T00:00Z')`,
    );
    expect(await h.services.digests.runNow(new Date('2026-03-02T18:00:05Z'))).toMatchObject({ sent: 1 });
    h.clock.set('2026-03-02T19:00:00Z');
    const manage = pathOf(linkIn(await parse(h.sink.to('kiwi@example.org')[0]!), '/manage/'));
    const html = (await h.app.inject({ url: manage })).body;
    expect(historyOf(html).map(([day, kind]) => [day, kind])).toEqual([['2026-03-03', 'sent']]);
    expect(nextDigest(html)).toBe('Wednesday 4 March at 07:00 (Pacific/Auckland)');
  });
});
