import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpPool, fastDotStuffing, SmtpError, type SmtpPool } from './smtp-pool.ts';

/** A real SMTP server that records sessions and messages, and refuses what it is told to. */
class Server {
  received: { to: string; raw: string }[] = [];
  sessionsOpened = 0;
  sessionsNow = 0;
  peakSessions = 0;
  refuse = new Map<string, number>();
  private server: SMTPServer | undefined;
  port = 0;

  async listen(port = 0) {
    const self = this;
    const fail = (code: number) => Object.assign(new Error(`${code} refused`), { responseCode: code });
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 50,
      onConnect(_session, callback) {
        self.sessionsOpened++;
        self.sessionsNow++;
        self.peakSessions = Math.max(self.peakSessions, self.sessionsNow);
        callback();
      },
      onClose() {
        self.sessionsNow--;
      },
      onMailFrom(address, _session, callback) {
        const code = self.refuse.get(address.address);
        callback(code ? fail(code) : undefined);
      },
      onRcptTo(address, _session, callback) {
        const code = self.refuse.get(address.address);
        callback(code ? fail(code) : undefined);
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString();
          for (const r of session.envelope.rcptTo) self.received.push({ to: r.address, raw });
          callback();
        });
      },
    });
    server.on('error', () => {});
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops the sessions, as a mail server going down does. */
  async halt() {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  get url() {
    return `smtp://127.0.0.1:${this.port}`;
  }
}

const message = (to: string, n: number) =>
  `From: digest@paperboy.test\r\nTo: ${to}\r\nSubject: number ${n}\r\nMessage-ID: <${n}@paperboy.test>\r\n\r\n.a line starting with a dot\r\n.\r\n..\r\nbody ${n}\r\n`;

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  return check();
};

let server: Server;
let pool: SmtpPool | undefined;
afterEach(async () => {
  pool?.close();
  pool = undefined;
  await server?.halt();
});

const start = async (opts: Partial<Parameters<typeof createSmtpPool>[1]> = {}) => {
  server = new Server();
  await server.listen();
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
    expect(server.received).toHaveLength(60);
    expect(new Set(server.received.map((r) => r.to)).size).toBe(60);
    expect(server.peakSessions).toBeLessThanOrEqual(3);
    expect(server.sessionsOpened).toBeGreaterThanOrEqual(6);
    // Dot-stuffing is undone by the server: the lines arrive as written, the lone dot included.
    expect(fastDotStuffing).toBe(true);
    expect(server.received[0]?.raw).toContain('\r\n.a line starting with a dot\r\n.\r\n..\r\nbody ');
  });

  it('fails a refused recipient as an address gone and keeps the session for the next message', async () => {
    const p = await start({ maxConnections: 1 });
    server.refuse.set('gone@example.org', 550);
    const err = await p.send('digest@paperboy.test', 'gone@example.org', message('gone', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.responseCode).toBe(550);
    expect(err.command).toBe('RCPT TO');
    expect(err.outcome).toBe('address-gone');
    await p.send('digest@paperboy.test', 'reader@example.org', message('reader', 2));
    expect(server.received.map((r) => r.to)).toEqual(['reader@example.org']);
    expect(server.sessionsOpened).toBe(1);
  });

  it('reports a refused sender as the relay’s failure, not the recipient’s', async () => {
    const p = await start();
    server.refuse.set('busy@paperboy.test', 451);
    const err = await p.send('busy@paperboy.test', 'reader@example.org', message('reader', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.responseCode).toBe(451);
    expect(err.command).toBe('MAIL FROM');
    expect(err.outcome).toBe('relay-down');
  });

  it('survives the server going away: a temporary error while it is down, new sessions once it is back', async () => {
    const p = await start();
    await p.send('digest@paperboy.test', 'a@example.org', message('a', 1));
    const port = server.port;
    await server.halt();
    expect(await until(() => p.connections === 0)).toBe(true);
    const err = await p.send('digest@paperboy.test', 'b@example.org', message('b', 2)).catch((e) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.outcome).toBe('relay-down');
    expect(p.connections).toBe(0);
    expect(await p.verify()).toBe(false);
    await server.listen(port);
    expect(await p.verify()).toBe(true);
    await p.send('digest@paperboy.test', 'b@example.org', message('b', 2));
    expect(server.received.map((r) => r.to)).toEqual(['a@example.org', 'b@example.org']);
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
    expect(server.received).toHaveLength(6);
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
    const raw = server.received[0]?.raw ?? '';
    expect(raw).toMatch(/^DKIM-Signature: .*d=paperboy\.test/m);
    expect(raw).toContain('s=pb');
    expect(raw).toContain('Subject: number 1');
  });

  it('refuses new messages once closed and closes its idle sessions', async () => {
    const p = await start();
    await p.send('digest@paperboy.test', 'a@example.org', message('a', 1));
    expect(server.sessionsNow).toBe(1);
    p.close();
    expect(await until(() => server.sessionsNow === 0)).toBe(true);
    await expect(p.send('digest@paperboy.test', 'b@example.org', message('b', 2))).rejects.toBeInstanceOf(SmtpError);
  });
});
