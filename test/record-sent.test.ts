import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness, settled } from './support/harness.ts';

/**
 * Once the SMTP server has accepted a digest, failing to record it must never count as a failed
 * send: a retry would mail it again. PostgreSQL refuses the record here through a trigger on
 * `deliveries`, with the errors a real server gives for other reasons than an outage.
 */
const REFUSE_RECORDS = `
  CREATE SEQUENCE refusals;
  CREATE FUNCTION refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.status = 'sent' AND OLD.status = 'sending' THEN
      IF (SELECT email FROM subscribers WHERE id = NEW.subscriber_id) LIKE 'always%' THEN
        RAISE EXCEPTION 'invalid byte sequence for encoding "UTF8": 0x00' USING ERRCODE = 'character_not_in_repertoire';
      END IF;
      IF (SELECT email FROM subscribers WHERE id = NEW.subscriber_id) LIKE 'twice%' AND nextval('refusals') <= 2 THEN
        RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
      END IF;
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER refuse_record BEFORE UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse_record();`;

const digestsTo = (h: Harness, email: string) => h.sink.to(email).filter((m) => m.raw.includes('Message-ID: <digest.'));
const messageIds = (h: Harness, email: string) =>
  digestsTo(h, email).map((m) => /^Message-ID: (.*)$/m.exec(m.raw.toString())?.[1]);

async function addSubscribers(h: Harness, emails: string[]) {
  await h.services.db.query(
    `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
     SELECT e, 'active', 'UTC', 8, '2026-03-03T08:00Z', now() FROM unnest($1::text[]) AS e`,
    [emails],
  );
}

const deliveryOf = async (h: Harness, email: string) =>
  (
    await h.services.db.query<{ status: string; attempts: number; message_id: string | null }>(
      `SELECT d.status, d.attempts, d.message_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
        WHERE s.email = $1`,
      [email],
    )
  ).rows;

describe('a record of an accepted digest that PostgreSQL refuses for a while', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    await h.services.db.query(REFUSE_RECORDS);
    await addSubscribers(h, ['twice@example.org']);
  });
  afterAll(async () => h?.close());

  it('is tried again until it is written; the digest is sent once and counted sent', async () => {
    const r = await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'));
    expect(r).toMatchObject({ due: 1, sent: 1, deferred: 0, failed: 0 });
    expect(await deliveryOf(h, 'twice@example.org')).toEqual([
      { status: 'sent', attempts: 1, message_id: expect.stringMatching(/^<digest\./) },
    ]);
    expect(await h.services.queues.get('digest').count()).toBe(0);
    expect(digestsTo(h, 'twice@example.org')).toHaveLength(1);
  });
});

describe('a record of an accepted digest that PostgreSQL keeps refusing', () => {
  let h: Harness;
  const others = Array.from({ length: 7 }, (_, i) => `reader${i + 1}@example.org`);
  beforeAll(async () => {
    h = await createHarness();
    await h.services.db.query(REFUSE_RECORDS);
    await addSubscribers(h, ['always@example.org', ...others]);
  });
  afterAll(async () => h?.close());

  it('leaves that delivery in sending, not deferred or failed, records the others, and sends each once', async () => {
    const r = await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'));
    expect(r).toMatchObject({ due: 8, sent: 8, deferred: 0, failed: 0 });
    expect(await deliveryOf(h, 'always@example.org')).toEqual([{ status: 'sending', attempts: 1, message_id: null }]);
    for (const email of others) expect((await deliveryOf(h, email))[0]?.status, email).toBe('sent');
    // Nothing was handed to the workers to try again.
    expect(await h.services.queues.get('digest').count()).toBe(0);
    for (const email of ['always@example.org', ...others]) expect(digestsTo(h, email), email).toHaveLength(1);
  });

  it('after its lease, sends it again with the same Message-ID, and records it once PostgreSQL takes it', async () => {
    await h.services.db.query('DROP TRIGGER refuse_record ON deliveries');
    // The lease runs out (as if five minutes had passed): the sweeper finds it owed.
    await h.services.db.query("UPDATE deliveries SET claimed_at = now() - interval '1 hour' WHERE status = 'sending'");
    h.clock.set('2026-03-03T08:10:00Z');
    expect(await h.services.digests.sweep(h.clock.now())).toBe(1);
    h.startWorkers();
    await eventually(async () => expect((await deliveryOf(h, 'always@example.org'))[0]?.status).toBe('sent'));
    await settled(h, 'digest');
    const ids = messageIds(h, 'always@example.org');
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    for (const email of others) expect(digestsTo(h, email), email).toHaveLength(1);
  });
});
