import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../services/api/app.ts';
import { loadConfig } from '../services/core/config.ts';
import { listMailbox, MailCatcher, readMailboxMessage } from '../services/local/mailcatcher.ts';
import { createHarness, eventually, type Harness } from './support/harness.ts';

describe('MAILBOX_PAGE', () => {
  it('is on by default only while the api listens on loopback and no proxy fronts it', () => {
    for (const host of ['127.0.0.1', '127.0.1.1', '::1', 'localhost', 'LOCALHOST']) {
      expect(loadConfig({ HOST: host }).mailboxPage, host).toBe(true);
    }
    expect(loadConfig({}).mailboxPage).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'paperboy.example.org', '127.0.0.1.example']) {
      expect(loadConfig({ HOST: host }).mailboxPage, host).toBe(false);
    }
    expect(loadConfig({ HOST: '127.0.0.1', TRUST_PROXY: '1' }).mailboxPage).toBe(false);
    expect(loadConfig({ HOST: '127.0.0.1', TRUST_PROXY: '127.0.0.1' }).mailboxPage).toBe(false);
    expect(loadConfig({ HOST: '0.0.0.0', MAILBOX_PAGE: 'true' }).mailboxPage).toBe(true);
    expect(loadConfig({ HOST: '127.0.0.1', MAILBOX_PAGE: 'false' }).mailboxPage).toBe(false);
    expect(() => loadConfig({ MAILBOX_PAGE: 'yes' })).toThrow(/MAILBOX_PAGE/);
  });
});

describe('the mailbox page', () => {
  let h: Harness;
  let id: string;

  beforeAll(async () => {
    h = await createHarness({ mailbox: true });
    h.startWorkers();
    await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email: 'local@example.org' } });
    id = await eventually(async () => {
      const found = (await h.app.inject({ method: 'GET', url: '/mailbox' })).body.match(/href="\/mailbox\/([\w-]+)"/);
      if (!found) throw new Error('no mail on the mailbox page yet');
      return found[1] as string;
    });
  });
  afterAll(async () => h?.close());

  /** The app as it would run with these settings on top of the harness's. */
  const appWith = (env: Record<string, string>) =>
    buildApp({ ...h.services, config: loadConfig({ ...h.env, ...env }) });
  const urls = () => ['/mailbox', `/mailbox/${id}`, `/mailbox/${id}/html`];

  it('shows caught mail while the api listens on loopback', async () => {
    for (const url of urls()) expect((await h.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
  });

  it('is a plain 404 when the api listens where others reach it, or behind a proxy', async () => {
    const settings: Record<string, string>[] = [
      { HOST: '0.0.0.0' },
      { HOST: '192.168.1.5' },
      { TRUST_PROXY: '1' },
      { MAILBOX_PAGE: 'false' },
    ];
    for (const env of settings) {
      const app = await appWith(env);
      try {
        for (const url of urls()) {
          const res = await app.inject({ method: 'GET', url });
          expect(res.statusCode, `${JSON.stringify(env)} ${url}`).toBe(404);
          expect(res.body).not.toContain('Confirm your Paperboy subscription');
        }
      } finally {
        await app.close();
      }
    }
  });

  it('is served anywhere when asked for with MAILBOX_PAGE=true', async () => {
    const app = await appWith({ HOST: '0.0.0.0', MAILBOX_PAGE: 'true' });
    try {
      for (const url of urls()) expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('the local mail catcher', () => {
  const dirs: string[] = [];
  const catchers: MailCatcher[] = [];
  const start = async (opts: Parameters<typeof MailCatcher.start>[0]) => {
    const catcher = await MailCatcher.start(opts);
    catchers.push(catcher);
    return catcher;
  };
  const scratch = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'paperboy-mail-'));
    dirs.push(dir);
    return dir;
  };
  const send = async (catcher: MailCatcher, n: number) => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: catcher.port,
      ignoreTLS: true,
      pool: true,
    });
    try {
      for (let i = 1; i <= n; i++) {
        await transport.sendMail({
          from: 'paperboy@localhost',
          to: `reader-${i}@example.org`,
          subject: `Message ${i}`,
          text: `Body ${i} `.repeat(200),
        });
      }
    } finally {
      transport.close();
    }
  };
  afterAll(async () => {
    for (const c of catchers) await c.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('keeps mail on disk only, the newest `keep` messages, and lists and reads them from there', async () => {
    const dir = scratch();
    const catcher = await start({ dir, keep: 5 });
    await send(catcher, 12);
    expect(readdirSync(dir).filter((f) => f.endsWith('.eml'))).toHaveLength(5);
    const listed = await listMailbox(dir);
    expect(listed.map((m) => m.subject)).toEqual(['Message 12', 'Message 11', 'Message 10', 'Message 9', 'Message 8']);
    expect(listed[0]?.to).toBe('reader-12@example.org');
    const newest = await readMailboxMessage(dir, listed[0]?.id as string);
    expect(newest?.parsed.text).toContain('Body 12');
    expect(await readMailboxMessage(dir, '../mail')).toBeUndefined();
  });

  it('keeps what it caught across a restart: a second catcher on the same directory lists both', async () => {
    const dir = scratch();
    const first = await MailCatcher.start({ dir });
    await send(first, 2);
    await first.stop();
    const second = await start({ dir });
    await send(second, 1);
    expect((await listMailbox(dir)).map((m) => m.subject)).toEqual(['Message 1', 'Message 2', 'Message 1']);
  });
});
