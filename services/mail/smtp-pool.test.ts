import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSink } from '../../test/support/sink.ts';
import { createSmtpPool, fastDotStuffing, SmtpError, type SmtpPool } from './smtp-pool.ts';

const message = (to: string, n: number) =>
  `From: digest@paperboy.test\r\nTo: ${to}\r\nSubject: number ${n}\r\nMessage-ID: <${n}@paperboy.test>\r\n\r\n.a line starting with a dot\r\n.\r\n..\r\nbody ${n}\r\n`;

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  return check();
};

let server: SmtpSink;
/** The copies accepted so far, one per recipient, with the message as text. */
const received = () => server.messages.flatMap((m) => m.to.map((to) => ({ to, raw: m.raw.toString() })));
/** Refuses MAIL FROM or RCPT TO for these addresses with their codes. */
const refuse = (codes: Record<string, number>) => {
  const reply = (address: string) =>
    codes[address] ? { code: codes[address], message: `${codes[address]} refused` } : undefined;
  server.refuseSender = reply;
  server.reject = reply;
};
let pool: SmtpPool | undefined;
afterEach(async () => {
  pool?.close();
  pool = undefined;
  await server?.halt();
});

const start = async (opts: Partial<Parameters<typeof createSmtpPool>[1]> = {}) => {
  server = await SmtpSink.start();
  pool = createSmtpPool(server.url, { maxConnections: 3, maxMessages: 1000, ratePerSecond: 0, ...opts });
  return pool;
};

describe('SMTP pool for prebuilt messages', () => {
  it('sends every message over at most maxConnections sessions, renewing them after maxMessages', async () => {
    const p = await start({ maxConnections: 3, maxMessages: 10 });
    let n = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (n < 60) {
          const i = n++;
          await p.send('digest@paperboy.test', `reader${i}@example.org`, message(`reader${i}@example.org`, i));
        }
      }),
    );
    expect(received()).toHaveLength(60);
    expect(new Set(received().map((r) => r.to)).size).toBe(60);
    expect(server.peakSessions).toBeLessThanOrEqual(3);
    expect(server.sessions).toBeGreaterThanOrEqual(6);
    // Dot-stuffing is undone by the server: the lines arrive as written, the lone dot included.
    expect(fastDotStuffing).toBe(true);
    expect(received()[0]?.raw).toContain('\r\n.a line starting with a dot\r\n.\r\n..\r\nbody ');
  });

  it('fails a refused recipient as an address gone and keeps the session for the next message', async () => {
    const p = await start({ maxConnections: 1 });
    refuse({ 'gone@example.org': 550 });
    const err = await p.send('digest@paperboy.test', 'gone@example.org', message('gone', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.responseCode).toBe(550);
    expect(err.command).toBe('RCPT TO');
    expect(err.outcome).toBe('address-gone');
    await p.send('digest@paperboy.test', 'reader@example.org', message('reader', 2));
    expect(received().map((r) => r.to)).toEqual(['reader@example.org']);
    expect(server.sessions).toBe(1);
  });

  it('reports a refused sender as the relay’s failure, not the recipient’s', async () => {
    const p = await start();
    refuse({ 'busy@paperboy.test': 451 });
    const err = await p.send('busy@paperboy.test', 'reader@example.org', message('reader', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.responseCode).toBe(451);
    expect(err.command).toBe('MAIL FROM');
    expect(err.outcome).toBe('relay-down');
  });

  it('survives the server going away: a temporary error while it is down, new sessions once it is back', async () => {
    const p = await start();
    await p.send('digest@paperboy.test', 'a@example.org', message('a', 1));
    await server.halt();
    expect(await until(() => p.connections === 0)).toBe(true);
    const err = await p.send('digest@paperboy.test', 'b@example.org', message('b', 2)).catch((e) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.outcome).toBe('relay-down');
    expect(p.connections).toBe(0);
    expect(await p.verify()).toBe(false);
    await server.resume();
    expect(await p.verify()).toBe(true);
    await p.send('digest@paperboy.test', 'b@example.org', message('b', 2));
    expect(received().map((r) => r.to)).toEqual(['a@example.org', 'b@example.org']);
  });

  it('spaces messages out to ratePerSecond', async () => {
    const p = await start({ ratePerSecond: 20 });
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => p.send('digest@paperboy.test', `r${i}@example.org`, message('r', i))),
    );
    // The sixth message may not start before five gaps of 50 ms have passed since the first was
    // handed over: a lower bound only, which no slow machine can break. (Measured at the server,
    // between the first and last arrivals, a first message that the machine delayed more than the
    // last shortened the span below it.)
    expect(received()).toHaveLength(6);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(5 * 50 - 10);
  });

  it('DKIM-signs each message when given a key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p = await start({
      dkim: {
        domainName: 'paperboy.test',
        keySelector: 'pb',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    await p.send('digest@paperboy.test', 'reader@example.org', message('reader@example.org', 1));
    const raw = received()[0]?.raw ?? '';
    expect(raw).toMatch(/^DKIM-Signature: .*d=paperboy\.test/m);
    expect(raw).toContain('s=pb');
    expect(raw).toContain('Subject: number 1');
  });

  it('refuses new messages once closed and closes its idle sessions', async () => {
    const p = await start();
    await p.send('digest@paperboy.test', 'a@example.org', message('a', 1));
    expect(server.openSessions).toBe(1);
    p.close();
    expect(await until(() => server.openSessions === 0)).toBe(true);
    await expect(p.send('digest@paperboy.test', 'b@example.org', message('b', 2))).rejects.toBeInstanceOf(SmtpError);
  });
});
