import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness, header, linkIn, parse, pathOf, settled } from './support/harness.ts';

/**
 * "Tell me when there is nothing new" (issue #21): a reader who opted in gets a one-line note on a
 * day with nothing new for them, at most once a week, through the same delivery engine as a digest.
 */
describe('the note on a day with nothing new', () => {
  let h: Harness;
  /** Addresses whose next RCPT is answered 451, once each. */
  const greylisted = new Set<string>();

  const notesTo = (email: string) => h.sink.to(email).filter((m) => m.raw.includes('Message-ID: <nothing-new.'));
  const day = async (email: string, digestDate: string) =>
    (
      await h.services.db.query<{ kind: string; status: string; attempts: number; last_error: string | null }>(
        `SELECT d.kind, d.status, d.attempts, d.last_error FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
          WHERE s.email = $1 AND d.digest_date = $2`,
        [email, digestDate],
      )
    ).rows;

  beforeAll(async () => {
    h = await createHarness({
      env: { SEND_RETRY_BASE_SECONDS: '1', SEND_RETRY_FACTOR: '1', DIGEST_MAX_AGE_HOURS: '2' },
      reject: (rcpt) => {
        if (!greylisted.delete(rcpt)) return undefined;
        return { code: 451, message: '4.7.1 Greylisted, try again later' };
      },
    });
    h.startWorkers();
    // Every reader is due at 08:00 UTC but late@, due at 05:00: three hours late at 08:00, past the
    // two-hour maximum age. paused@ opted in, then paused.
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, topics, send_hour, next_send_at, nothing_new_note, confirmed_at)
       VALUES ('told@example.org', 'active', '{robotics}', 8, '2026-03-03T08:00Z', true, '2026-03-01T00:00Z'),
              ('quiet@example.org', 'active', '{robotics}', 8, '2026-03-03T08:00Z', false, '2026-03-01T00:00Z'),
              ('trending@example.org', 'active', '{}', 8, '2026-03-03T08:00Z', true, '2026-03-01T00:00Z'),
              ('greylisted@example.org', 'active', '{}', 8, '2026-03-03T08:00Z', true, '2026-03-01T00:00Z'),
              ('late@example.org', 'active', '{}', 5, '2026-03-03T05:00Z', true, '2026-03-01T00:00Z'),
              ('paused@example.org', 'paused', '{}', 8, NULL, true, '2026-03-01T00:00Z')`,
    );
    // No paper is news any more: every reader's day has nothing new.
    await h.services.db.query("UPDATE papers SET fresh_at = '2025-01-01T00:00Z'");
  });
  afterAll(async () => h?.close());

  it('mails one note to a reader who opted in, with the next digest’s time and the digest’s links and headers', async () => {
    h.clock.set('2026-03-03T08:00:05Z');
    greylisted.add('greylisted@example.org');
    const r = await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'));
    // told@ and trending@ at once; greylisted@'s note deferred by the 451; quiet@ and late@ skipped.
    expect(r).toMatchObject({ due: 5, sent: 2, deferred: 1, skipped: 2 });

    const [note] = await Promise.all(notesTo('told@example.org').map(parse));
    expect(notesTo('told@example.org')).toHaveLength(1);
    expect(note?.subject).toBe('Nothing new today · Tuesday, 3 March');
    expect(note?.text).toContain(
      'Nothing new matched your topics today; your next digest is at Wednesday 4 March at 08:00 (UTC).',
    );
    expect(note?.html).toContain('Nothing new matched your topics today');
    expect(header(note!, 'List-Unsubscribe')).toMatch(/^<http:\/\/paperboy\.test\/u\/[^>]+>$/);
    expect(header(note!, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(linkIn(note!, '/manage/')).toMatch(/^http:\/\/paperboy\.test\/manage\//);
    expect(await day('told@example.org', '2026-03-03')).toEqual([
      { kind: 'nothing_new', status: 'sent', attempts: 1, last_error: null },
    ]);

    // Without topics, the note speaks of the trending list.
    const [trending] = await Promise.all(notesTo('trending@example.org').map(parse));
    expect(trending?.text).toContain('Nothing new in the trending list today; your next digest is at');

    // Not opted in, too late, paused: no note, and the first two's days are skipped as before.
    for (const email of ['quiet@example.org', 'late@example.org', 'paused@example.org']) {
      expect(h.sink.to(email)).toHaveLength(0);
    }
    expect(await day('quiet@example.org', '2026-03-03')).toEqual([
      { kind: 'digest', status: 'skipped', attempts: 0, last_error: 'no new papers' },
    ]);
    expect(await day('late@example.org', '2026-03-03')).toEqual([
      expect.objectContaining({ kind: 'digest', status: 'skipped', last_error: expect.stringMatching(/^too late/) }),
    ]);
    expect(await day('paused@example.org', '2026-03-03')).toEqual([]);
  });

  it('sends a note its server deferred (4xx) once, on a retry', async () => {
    await eventually(async () => expect(notesTo('greylisted@example.org')).toHaveLength(1));
    await settled(h, 'digest');
    expect(await day('greylisted@example.org', '2026-03-03')).toEqual([
      { kind: 'nothing_new', status: 'sent', attempts: 2, last_error: null },
    ]);
    // The sweeper finds nothing owed, and sending the batch again sends nothing.
    expect(await h.services.digests.sweep(new Date('2026-03-03T09:00:00Z'))).toBe(0);
    const { rows } = await h.services.db.query<{ id: number }>(
      "SELECT id FROM deliveries WHERE kind = 'nothing_new' ORDER BY id",
    );
    const again = await h.services.sender.sendBatch(
      rows.map((d) => d.id),
      { now: new Date('2026-03-03T09:00:00Z') },
    );
    expect(again).toMatchObject({ sent: 0, notOwed: 3 });
    expect(notesTo('greylisted@example.org')).toHaveLength(1);
    expect(h.sink.to('greylisted@example.org')).toHaveLength(1);
  });

  it('sends none on the next nothing-new days of the week, and one again seven days after', async () => {
    for (const date of ['2026-03-04', '2026-03-09']) {
      const r = await h.services.digests.runNow(new Date(`${date}T08:00:05Z`));
      expect(r).toMatchObject({ sent: 0, deferred: 0 });
      expect(await day('told@example.org', date)).toEqual([
        { kind: 'digest', status: 'skipped', attempts: 0, last_error: 'no new papers' },
      ]);
    }
    expect(notesTo('told@example.org')).toHaveLength(1);

    const r = await h.services.digests.runNow(new Date('2026-03-10T08:00:05Z'));
    // told@, trending@ and greylisted@, told on 3 March; late@ is three hours late again.
    expect(r).toMatchObject({ sent: 3, skipped: 2 });
    expect(notesTo('told@example.org')).toHaveLength(2);
    expect((await parse(notesTo('told@example.org')[1]!)).subject).toBe('Nothing new today · Tuesday, 10 March');
    expect(h.sink.to('quiet@example.org')).toHaveLength(0);
  });

  it('shows the day told in the reader’s history, with no web version', async () => {
    h.clock.set('2026-03-10T09:00:00Z');
    const manage = pathOf(linkIn(await parse(notesTo('told@example.org')[1]!), '/manage/'));
    const html = (await h.app.inject({ url: manage })).body;
    const rows = [
      ...html.matchAll(
        /<tr class="history-(\w+)"><td><time datetime="([\d-]+)">[\d-]+<\/time><\/td><td>(.*?)<\/td><\/tr>/g,
      ),
    ].map(([, kind, date, text]) => [date, kind, text]);
    expect(rows).toEqual([
      ['2026-03-10', 'told', 'Nothing new: we told you so by mail'],
      ['2026-03-09', 'skipped', 'Skipped: nothing new for your topics, nor in the trending list'],
      ['2026-03-04', 'skipped', 'Skipped: nothing new for your topics, nor in the trending list'],
      ['2026-03-03', 'told', 'Nothing new: we told you so by mail'],
    ]);
    // The note is not a digest: the private feed lists none.
    const feed = /<a href="(http:\/\/paperboy\.test\/feed\/[^"]+\.xml)">/.exec(html)?.[1];
    const atom = (await h.app.inject({ url: pathOf(feed!) })).body;
    expect(atom).not.toContain('<entry>');
  });

  it('is a preference like the others, in the API and the form, off unless chosen', async () => {
    h.clock.set('2026-03-10T09:00:00Z');
    const manage = pathOf(linkIn(await parse(notesTo('told@example.org')[1]!), '/manage/'));
    const token = manage.replace(/^\/manage\//, '');
    const api = `/api/subscription/${token}`;
    const shown = await h.app.inject({ url: api });
    expect(shown.json().preferences).toMatchObject({ nothingNew: true, delivery: 'email' });

    // The form's select posts "false".
    const form = await h.app.inject({
      method: 'POST',
      url: manage,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'nothingNew=false',
    });
    expect(form.statusCode).toBe(200);
    expect(form.body).toMatch(/<option value="false" selected>Say nothing<\/option>/);
    expect((await h.app.inject({ url: api })).json().preferences.nothingNew).toBe(false);

    const bad = await h.app.inject({ method: 'PATCH', url: api, payload: { nothingNew: 'yes' } });
    expect(bad.statusCode).toBe(400);
    const on = await h.app.inject({ method: 'PATCH', url: api, payload: { nothingNew: true } });
    expect(on.json().preferences.nothingNew).toBe(true);
  });
});
