import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { signWebhook, webhookKey } from '../../services/api/webhook-signature.ts';
import type { Db } from '../../services/core/db.ts';
import { forEachConcurrently } from '../../services/core/each.ts';
import { ROOT } from '../../services/core/paths.ts';
import { createTokens } from '../../services/core/tokens.ts';
import { freePort } from '../../services/local/ports.ts';
import { cleanEnv } from '../support/servers.ts';
import { prepare, progress, type ScenarioOptions, type ScenarioResult, workerEnv } from './scenarios.ts';
import { type ChaosStack, startProcess } from './stack.ts';

const row = (r: Partial<ScenarioResult> & Pick<ScenarioResult, 'scenario' | 'injected' | 'seconds' | 'notes'>) => ({
  subscribers: 0,
  accepted: 0,
  lost: 0,
  duplicates: 0,
  duplicatesWithNewId: 0,
  retries: 0,
  bounced: 0,
  http5xx: 0,
  ...r,
});

/** A signup through the proxy in front of the api: `forwarded` is the X-Forwarded-For it passes on. */
async function post(base: string, body: unknown, forwarded: string) {
  const res = await fetch(`${base}/api/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwarded },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Every link in a mail that points at Paperboy (`publicUrl`): text part, HTML part and List-Unsubscribe. */
async function linksIn(raw: Buffer, publicUrl: string): Promise<{ subject: string; links: string[] }> {
  const mail = await simpleParser(raw);
  const listUnsubscribe = mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
  const found = [
    ...((mail.text ?? '').match(/https?:\/\/[^\s<>"]+/g) ?? []),
    ...[...String(mail.html || '').matchAll(/href="([^"]+)"/g)].map((m) => (m[1] as string).replaceAll('&amp;', '&')),
    ...[...listUnsubscribe.matchAll(/<(https?:[^>]+)>/g)].map((m) => m[1] as string),
  ];
  return { subject: mail.subject ?? '', links: [...new Set(found.filter((u) => u.startsWith(`${publicUrl}/`)))] };
}

/** Every row a link could change, as text, for comparing before and after a scan. */
async function stateRows(db: { query: (q: string) => Promise<{ rows: { row: string }[] }> }): Promise<Set<string>> {
  const { rows } = await db.query(`
    SELECT 'subscriber ' || s::text AS row FROM subscribers s
    UNION ALL SELECT 'delivery ' || d::text FROM deliveries d
    UNION ALL SELECT 'suppression ' || x::text FROM suppressions x
    UNION ALL SELECT 'vote ' || v::text FROM paper_votes v
    UNION ALL SELECT 'follow ' || f::text FROM follows f`);
  return new Set(rows.map((r) => r.row));
}

/** Answers by status, as `3 × 202, 7 × 429`. */
const tally = (statuses: Iterable<number>) => {
  const m = new Map<number, number>();
  for (const s of statuses) m.set(s, (m.get(s) ?? 0) + 1);
  return [...m]
    .sort(([a], [b]) => a - b)
    .map(([k, c]) => `${c} × ${k}`)
    .join(', ');
};

/**
 * Waits until every confirmation the accepted signups owe has gone out (the worker marks each once
 * the SMTP server took it), so the sink's count is final; gives up after a minute.
 */
async function confirmationsSent(db: Db): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ owed: number }>(
      `SELECT count(*)::int AS owed FROM subscribers
        WHERE status = 'pending' AND confirm_sent_at IS NULL AND confirm_given_up_at IS NULL`,
    );
    if (rows[0]?.owed === 0) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** A random address in the IPv6 /64 `prefix` (four groups). */
const inNetwork = (prefix: string) =>
  `${prefix}:${Array.from({ length: 4 }, () => randomBytes(2).toString('hex')).join(':')}`;

/** `paperboy start` that is expected not to start: its exit code and the first line it printed. */
function refusedStart(env: Record<string, string>) {
  return new Promise<{ code: number | null; said: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/paperboy.mjs'), 'start'], {
      env: cleanEnv(env),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, said: stderr.trim().split('\n').slice(-1)[0]?.trim() ?? '' });
    });
  });
}

export const abuseScenarios: Record<string, (stack: ChaosStack, o: ScenarioOptions) => Promise<ScenarioResult>> = {
  /**
   * One network floods signups with fresh addresses, many networks flood one victim's address,
   * and ordinary readers sign up at the same time from their own addresses.
   */
  'signup-flood': async (stack, o) => {
    const s = await prepare(stack, 'flood');
    const port = await freePort();
    const env = {
      ...s.env,
      TRUST_PROXY: '1',
      SIGNUP_LIMIT_PER_IP: '20',
      SIGNUP_LIMIT_PER_ADDRESS: '3',
      SIGNUP_LIMIT_WINDOW_SECONDS: '3600',
    };
    const api = await startProcess({ ...env, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' });
    const worker = await startProcess(workerEnv(env));
    const t0 = performance.now();
    const base = `http://127.0.0.1:${port}`;
    const statuses = new Map<number, number>();
    const count = (status: number) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    };
    const floodSize = Math.max(200, Math.round(o.subscribers / 10));
    const legit = Array.from({ length: 100 }, (_, i) => `legit${i}@example.org`);
    let legitAccepted = 0;
    try {
      await Promise.all([
        forEachConcurrently(
          Array.from({ length: floodSize }, (_, i) => i),
          20,
          async (i) => count(await post(base, { email: `flood${i}@example.org` }, '203.0.113.7')),
        ),
        forEachConcurrently(
          Array.from({ length: floodSize }, (_, i) => i),
          20,
          async (i) =>
            count(await post(base, { email: 'victim@example.org' }, `198.51.${Math.floor(i / 250)}.${i % 250}`)),
        ),
        forEachConcurrently(legit, 5, async (email) => {
          const status = await post(base, { email }, `192.0.2.${legit.indexOf(email)}`);
          if (status === 202) legitAccepted++;
          else count(status);
        }),
      ]);
      // The confirmation mails the accepted signups caused, once the worker has sent them. The
      // victim's accepted signups get one mail each, or one between them when they arrived in the
      // same batch.
      const to = (pred: (a: string) => boolean) => stack.sink.accepted.filter((a) => pred(a.to)).length;
      const deadline = Date.now() + 60_000;
      const expected = 20 + 1 + legitAccepted;
      const victim = (a: string) => a === 'victim@example.org';
      const arrived = () => to((a) => !victim(a)) + Math.min(1, to(victim));
      while (Date.now() < deadline && arrived() < expected) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 1000));
      const victimMails = to(victim);
      const floodMails = to((a) => a.startsWith('flood'));
      const legitMails = new Set(stack.sink.accepted.filter((a) => a.to.startsWith('legit')).map((a) => a.to)).size;
      const http5xx = [...statuses].filter(([k]) => k >= 500).reduce((a, [, n]) => a + n, 0);
      return row({
        scenario: 'signup-flood',
        injected: `${floodSize} signups from one IP, ${floodSize} for one address from ${floodSize} IPs, 100 ordinary signups meanwhile (limits 20 per IP, 3 per address)`,
        subscribers: legit.length,
        accepted: stack.sink.accepted.length,
        lost: legit.length - legitMails,
        http5xx,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        notes: `${statuses.get(429) ?? 0} × 429; ${legitAccepted}/100 ordinary signups accepted; confirmation mails: ${floodMails} to the flooding IP's addresses, ${victimMails} to the victim`,
      });
    } finally {
      await api.kill('SIGTERM');
      await worker.kill('SIGTERM');
      await s.close();
    }
  },

  /**
   * A source delivers a paper whose title, abstract and author carry markup and script; it is
   * ingested by the CLI, sent by the worker and shown by the api. Wherever it appears as HTML it
   * must be escaped.
   */
  'hostile-paper-text': async (stack) => {
    const s = await prepare(stack, 'xss');
    stack.sink.keepMessages = true;
    const port = await freePort();
    const t0 = performance.now();
    const now = new Date();
    const file = path.join(s.env.DATA_DIR as string, 'hostile.json');
    writeFileSync(
      file,
      JSON.stringify([
        {
          paper: {
            id: '2611.99999',
            title: '<script>alert(1)</script> Hostile',
            summary: '<img src=x onerror=alert(2)> and </td></tr></table> breakage',
            upvotes: 1_000_000,
            submittedOnDailyAt: now.toISOString(),
            authors: [{ name: '<b onmouseover=alert(3)>Mallory</b>', hidden: false }],
          },
        },
      ]),
    );
    const cli = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/paperboy.mjs'), 'ingest', file, '--source', 'hf'], {
        env: cleanEnv(s.env),
        stdio: 'ignore',
      });
      child.on('exit', resolve);
    });
    await s.db.query(
      `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
       VALUES ('reader@example.org', 'active', now() - interval '1 minute', now())`,
    );
    const api = await startProcess({ ...s.env, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' });
    const worker = await startProcess(workerEnv(s.env));
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (await progress(s.db)).sent < 1) await new Promise((r) => setTimeout(r, 200));
      const raw = stack.sink.messages[0]?.raw;
      const mail = raw ? await simpleParser(raw) : undefined;
      const html = typeof mail?.html === 'string' ? mail.html : '';
      const view = /href="([^"]*\/d\/[^"]+)"/
        .exec(html)?.[1]
        ?.replace('https://paperboy.example', `http://127.0.0.1:${port}`);
      const get = async (url: string) =>
        (await fetch(url.startsWith('http') ? url : `http://127.0.0.1:${port}${url}`)).text();
      const day = now.toISOString().slice(0, 10);
      const places: [string, string][] = [
        ['digest html', html],
        ['web version', view ? await get(view) : ''],
        ['archive day', await get(`/digests/${day}`)],
        ['archive', await get('/digests')],
        ['feed.xml', await get('/feed.xml')],
      ];
      const feedJson = JSON.parse(await get('/feed.json')) as { items: { content_html?: string }[] };
      places.push(['feed.json content_html', feedJson.items.map((i) => i.content_html ?? '').join('\n')]);
      const live = /<script>alert|<img src=x onerror|<b onmouseover/;
      const shown = places.filter(([, text]) => text.includes('Hostile'));
      const unescaped = places.filter(([, text]) => live.test(text)).map(([name]) => name);
      const plainText = typeof mail?.text === 'string' && mail.text.includes('<script>alert(1)</script> Hostile');
      return row({
        scenario: 'hostile-paper-text',
        injected:
          'a paper whose title, abstract and author carry <script>, <img onerror> and <b onmouseover>, ingested with `paperboy ingest`',
        subscribers: 1,
        accepted: stack.sink.accepted.length,
        lost: stack.sink.accepted.length ? 0 : 1,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        notes: `ingest exit ${cli}; shown in ${shown.length} of ${places.length} places (${shown.map(([n]) => n).join(', ')}), unescaped in ${unescaped.length}${unescaped.length ? ` (${unescaped.join(', ')})` : ''}; plain-text part shows it verbatim: ${plainText ? 'yes' : 'no'}`,
      });
    } finally {
      await api.kill('SIGTERM');
      await worker.kill('SIGTERM');
      await s.close();
    }
  },

  /**
   * A link scanner (a mail gateway's, a provider's link preview, a security product) fetches every
   * link in every mail a run sends, with GET and HEAD: confirmation mails, digests (their
   * List-Unsubscribe URL included), replies to signing up again and mailed preferences links. The
   * readers meanwhile confirm, and ask for preferences links, with the pages' buttons. Nothing a
   * scanner fetches may change a row, and every reader must end up as they chose: active.
   */
  'link-scanner': async (stack, o) => {
    const s = await prepare(stack, 'scanner');
    stack.sink.keepMessages = true;
    const port = await freePort();
    const env: Record<string, string> = { ...s.env, SIGNUP_LIMIT_PER_IP: '1000000', SIGNUP_LIMIT_PER_ADDRESS: '1000' };
    const api = await startProcess({ ...env, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' });
    const worker = await startProcess(workerEnv(env));
    const t0 = performance.now();
    const base = `http://127.0.0.1:${port}`;
    const publicUrl = env.PUBLIC_URL as string;
    const n = Math.max(10, Math.round(o.subscribers / 40));
    const readers = Array.from({ length: n }, (_, i) => `scanned${i}@example.org`);
    const statuses = new Map<number, number>();
    const kinds = new Map<string, number>();
    let fetched = 0;
    let changed = 0;
    const changedBy: string[] = [];
    let scanned = 0;
    const local = (link: string) => link.replace(publicUrl, base);
    const until = async (what: string, done: () => Promise<boolean> | boolean, ms = 120_000) => {
      const deadline = Date.now() + ms;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`link-scanner: ${what} did not happen in ${ms / 1000} s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    /** The database stops changing: the worker's own work (sending, recording) is over. */
    const quiet = async () => {
      let last = [...(await stateRows(s.db))].sort().join('\n');
      let stableSince = Date.now();
      await until('a quiet database', async () => {
        const now = [...(await stateRows(s.db))].sort().join('\n');
        if (now !== last) {
          last = now;
          stableSince = Date.now();
        }
        return Date.now() - stableSince > 2500;
      });
    };
    const mailsSoFar = () => stack.sink.messages.flatMap((m) => m.to.map((to) => ({ to, raw: m.raw })));
    /** Scans the mails accepted from index `from` on; returns their links by reader. */
    const scan = async (from: number) => {
      await quiet();
      const before = await stateRows(s.db);
      const mails = mailsSoFar().slice(from);
      const byReader = new Map<string, string[]>();
      await forEachConcurrently(mails, 5, async (a) => {
        const { subject, links } = await linksIn(a.raw, publicUrl);
        const kind = subject.startsWith('Confirm')
          ? 'confirmation'
          : subject.startsWith('You are already')
            ? 'already-subscribed'
            : subject.startsWith('Your link')
              ? 'preferences link'
              : 'digest';
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        byReader.set(a.to, [...(byReader.get(a.to) ?? []), ...links]);
        for (const link of links) {
          for (const method of ['GET', 'HEAD']) {
            const res = await fetch(local(link), { method, redirect: 'manual' });
            await res.arrayBuffer();
            fetched++;
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }
      });
      scanned += mails.length;
      const after = await stateRows(s.db);
      const diff = [...after].filter((r) => !before.has(r));
      changed += diff.length;
      if (diff.length) changedBy.push(`${diff.length} rows after scanning ${mails.length} mails`);
      return byReader;
    };
    const post = async (url: string, body?: unknown) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      return res.status;
    };
    const linkTo = (links: string[] | undefined, path: string) =>
      (links ?? []).find((l) => new URL(l).pathname.startsWith(path));
    const count = async (q: string) => (await s.db.query<{ n: number }>(q)).rows[0]?.n ?? 0;
    try {
      // Signups: each reader gets a confirmation mail, which the scanner fetches first.
      await forEachConcurrently(readers, 10, async (email) => {
        await post(`${base}/api/subscriptions`, { email });
      });
      await until(
        'every confirmation',
        async () =>
          mailsSoFar().length >= n &&
          (await count('SELECT count(*)::int AS n FROM subscribers WHERE confirm_sent_at IS NOT NULL')) >= n,
      );
      const confirmations = await scan(0);
      const pendingAfterScan = await count("SELECT count(*)::int AS n FROM subscribers WHERE status = 'pending'");

      // The readers confirm with the page's button: a POST to the same link.
      await forEachConcurrently(readers, 10, async (email) => {
        const link = linkTo(confirmations.get(email), '/confirm/');
        if (link) await post(local(link));
      });
      // Their first digest is due now, rather than at 08:00.
      let mark = mailsSoFar().length;
      await s.db.query("UPDATE subscribers SET next_send_at = now() - interval '1 minute' WHERE status = 'active'");
      await until('every digest', async () => mailsSoFar().length >= mark + n);
      const digests = await scan(mark);
      const digestReaders = new Set(
        mailsSoFar()
          .slice(mark)
          .map((a) => a.to),
      );

      // Signing up again: a reply with the preferences link.
      mark = mailsSoFar().length;
      await forEachConcurrently(readers, 10, async (email) => {
        await post(`${base}/api/subscriptions`, { email });
      });
      await until('every reply to signing up again', () => mailsSoFar().length >= mark + n);
      await scan(mark);

      // A preferences link by mail, asked for with the button on each digest's unsubscribe page.
      mark = mailsSoFar().length;
      await forEachConcurrently(readers, 10, async (email) => {
        const u = linkTo(digests.get(email), '/u/');
        if (u) await post(`${local(u)}/manage-link`);
      });
      await until('every mailed preferences link', () => mailsSoFar().length >= mark + n);
      await scan(mark);

      const active = await count("SELECT count(*)::int AS n FROM subscribers WHERE status = 'active'");
      const tally = [...statuses]
        .sort(([a], [b]) => a - b)
        .map(([k, c]) => `${c} × ${k}`)
        .join(', ');
      const mailKinds = [...kinds].map(([k, c]) => `${c} ${k}`).join(', ');
      return row({
        scenario: 'link-scanner',
        injected: `a scanner fetching (GET and HEAD) every Paperboy link in every mail of ${n} readers: confirmations, digests with their List-Unsubscribe, replies to signing up again, mailed preferences links`,
        subscribers: n,
        accepted: stack.sink.accepted.length,
        lost: n - digestReaders.size,
        http5xx: [...statuses].filter(([k]) => k >= 500).reduce((a, [, c]) => a + c, 0),
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        notes: `${scanned} mails scanned (${mailKinds}), ${fetched} fetches (answers: ${tally}); pending after the scan of the confirmations: ${pendingAfterScan}/${n}; state changes by the scanner: ${changed}${changedBy.length ? ` (${changedBy.join('; ')})` : ''}; readers active at the end: ${active}/${n}`,
      });
    } finally {
      await api.kill('SIGTERM');
      await worker.kill('SIGTERM');
      await s.close();
    }
  },

  /**
   * Links with forged tokens: random ones, real ones with a changed character, ones signed with
   * another secret or for another purpose or subscriber, an unsubscribe link with an expiry (never
   * issued), a preferences link signed out by its subscriber, and the real links of an erased
   * subscriber. None may act, none may answer 5xx, and no answer may show an address.
   */
  'forged-tokens': async (stack, o) => {
    const s = await prepare(stack, 'tokens');
    const port = await freePort();
    const api = await startProcess({ ...s.env, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' });
    const t0 = performance.now();
    try {
      // The victim signed out their links once: links of epoch 0 no longer work.
      await s.db.query(
        `INSERT INTO subscribers (email, status, next_send_at, confirmed_at, token_epoch)
         VALUES ('victim@example.org', 'active', now() + interval '1 day', now(), 1),
                ('erased@example.org', 'active', now() + interval '1 day', now(), 0)`,
      );
      const real = createTokens([s.env.TOKEN_SECRETS as string]);
      const other = createTokens([`another-${'x'.repeat(40)}`]);
      const tamper = (t: string, i: number) => {
        const at = t.length - 1 - (i % 22);
        const c = t[at] === 'A' ? 'B' : 'A';
        return t.slice(0, at) + c + t.slice(at + 1);
      };
      const random = () => `${Math.floor(Math.random() * 1e6).toString(36)}..${randomBytes(16).toString('base64url')}`;
      const n = Math.max(50, Math.round(o.subscribers / 40));
      const later = new Date(Date.now() + 86_400_000);
      // Each token with what it really is, where that is a real purpose: a real confirmation link
      // is not sent to /confirm, and a signed-out preferences link may ask for a fresh one by mail
      // (to the address on record, by design), so it is not sent there.
      const forged: { t: string; real?: 'confirm' | 'signed-out' }[] = [];
      for (let i = 0; i < n; i++) {
        forged.push(
          { t: random() },
          { t: tamper(real.sign('unsubscribe', 1), i) },
          { t: other.sign('unsubscribe', 1) },
        );
        forged.push({ t: real.sign('confirm', 1), real: 'confirm' });
        forged.push({ t: real.sign('unsubscribe', 1, new Date(Date.now() - 1000)) });
        forged.push({ t: real.sign('manage', 1, later, 0), real: 'signed-out' });
      }
      const targets = ({ t, real: is }: (typeof forged)[number]): [string, string][] => [
        ['POST', `/u/${t}`],
        ['POST', `/u/${t}/manage-link`],
        ['GET', `/manage/${t}`],
        ['POST', `/manage/${t}/erase`],
        ['GET', `/api/subscription/${t}`],
        ['GET', `/d/${t}`],
        ...(is === 'confirm' ? [] : ([['POST', `/confirm/${t}`]] as [string, string][])),
        ...(is === 'signed-out' ? [] : ([['POST', `/manage/${t}/new-link`]] as [string, string][])),
      ];
      // The erased subscriber's own links, taken before erasure, must stop working.
      const erasedLinks = [{ t: real.sign('unsubscribe', 2) }, { t: real.sign('manage', 2, later) }];
      await s.db.query("DELETE FROM subscribers WHERE email = 'erased@example.org'");
      let leaks = 0;
      let requests = 0;
      const ask = async (list: typeof forged) => {
        const statuses = new Map<number, number>();
        const all = list.flatMap(targets);
        requests += all.length;
        await forEachConcurrently(all, 10, async ([method, url]) => {
          const res = await fetch(`http://127.0.0.1:${port}${url}`, { method });
          const body = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (body.includes('victim@example.org') || body.includes('erased@example.org')) leaks++;
        });
        return statuses;
      };
      const tally = (m: Map<number, number>) =>
        [...m]
          .sort(([a], [b]) => a - b)
          .map(([k, c]) => `${c} × ${k}`)
          .join(', ');
      const forgedAnswers = await ask(forged);
      // Unsubscribing or erasing someone already erased is a harmless no-op (200); reading or
      // changing them is a 404; nothing may bring them back.
      const erasedAnswers = await ask(erasedLinks);
      const { rows } = await s.db.query<{ email: string; status: string }>('SELECT email, status FROM subscribers');
      const state = rows.map((r) => `${r.email.split('@')[0]} ${r.status}`).join(', ');
      const acted = [...forgedAnswers].filter(([k]) => k < 400).reduce((a, [, c]) => a + c, 0);
      const http5xx = [...forgedAnswers, ...erasedAnswers].filter(([k]) => k >= 500).reduce((a, [, c]) => a + c, 0);
      return row({
        scenario: 'forged-tokens',
        injected: `${requests} requests to confirm, unsubscribe, ask for a preferences link, preferences, erase, the API and web versions with random, altered, foreign-secret, wrong-purpose, expired and signed-out tokens, and an erased subscriber's real links`,
        subscribers: 1,
        http5xx,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        notes: `forged: ${tally(forgedAnswers)} (accepted: ${acted}); erased subscriber's links: ${tally(erasedAnswers)}; left in the database: ${state}; answers showing an address: ${leaks}`,
      });
    } finally {
      await api.kill('SIGTERM');
      await s.close();
    }
  },
  /**
   * A client that writes its own X-Forwarded-For, a new address in every request, hoping the api
   * counts that one. Two apis behind a proxy, one told the number of proxies (TRUST_PROXY=1), one
   * their address (TRUST_PROXY=127.0.0.1/8); the proxy appends the address it saw, as nginx's
   * $proxy_add_x_forwarded_for does. Ordinary readers sign up meanwhile. And TRUST_PROXY=true, which
   * believed the client's entry, must refuse to start.
   */
  'forwarded-header-flood': async (stack, o) => {
    const s = await prepare(stack, 'xff');
    const limits = { SIGNUP_LIMIT_PER_IP: '20', SIGNUP_LIMIT_PER_ADDRESS: '3', SIGNUP_LIMIT_WINDOW_SECONDS: '3600' };
    const [hopPort, listPort] = [await freePort(), await freePort()];
    const api = (port: number, trust: string) =>
      startProcess({ ...s.env, ...limits, TRUST_PROXY: trust, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' });
    const hops = await api(hopPort, '1');
    const listed = await api(listPort, '127.0.0.1/8');
    const worker = await startProcess(workerEnv({ ...s.env, ...limits }));
    const t0 = performance.now();
    const floodSize = Math.max(200, Math.round(o.subscribers / 10));
    const statuses: number[] = [];
    const forged = () => `${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
    let legitAccepted = 0;
    try {
      const refused = await refusedStart({
        ...s.env,
        TRUST_PROXY: 'true',
        ROLES: 'api',
        PORT: String(await freePort()),
      });
      const flood = (port: number, who: string, client: string) =>
        forEachConcurrently(
          Array.from({ length: floodSize }, (_, i) => i),
          20,
          async (i) => {
            // The forged entries first (one, or a chain of them), then what the proxy appended.
            const chain = Array.from({ length: 1 + (i % 3) }, forged).join(', ');
            statuses.push(
              await post(`http://127.0.0.1:${port}`, { email: `${who}${i}@example.org` }, `${chain}, ${client}`),
            );
          },
        );
      await Promise.all([
        flood(hopPort, 'hop', '203.0.113.7'),
        flood(listPort, 'listed', '203.0.113.8'),
        forEachConcurrently(
          Array.from({ length: 50 }, (_, i) => i),
          5,
          async (i) => {
            const status = await post(
              `http://127.0.0.1:${hopPort}`,
              { email: `reader${i}@example.org` },
              `192.0.2.${i}`,
            );
            if (status === 202) legitAccepted++;
            else statuses.push(status);
          },
        ),
      ]);
      const settled = await confirmationsSent(s.db);
      const to = (prefix: string) => stack.sink.accepted.filter((a) => a.to.startsWith(prefix)).length;
      const legitMails = new Set(stack.sink.accepted.filter((a) => a.to.startsWith('reader')).map((a) => a.to)).size;
      return row({
        scenario: 'forwarded-header-flood',
        injected: `${floodSize} signups through each of two apis (TRUST_PROXY=1, TRUST_PROXY=127.0.0.1/8) from one client forging 1–3 X-Forwarded-For entries per request; 50 ordinary signups meanwhile; a start with TRUST_PROXY=true`,
        subscribers: 50,
        accepted: stack.sink.accepted.length,
        lost: 50 - legitMails,
        http5xx: statuses.filter((x) => x >= 500).length,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        notes: `${tally(statuses)}; confirmation mails to the forging client: ${to('hop')} through TRUST_PROXY=1, ${to('listed')} through TRUST_PROXY=127.0.0.1/8 (limit 20 per client); ${legitAccepted}/50 ordinary signups accepted${settled ? '' : '; mail did not settle'}; TRUST_PROXY=true: exit ${refused.code}, "${refused.said.slice(0, 60)}…"`,
      });
    } finally {
      await hops.kill('SIGTERM');
      await listed.kill('SIGTERM');
      await worker.kill('SIGTERM');
      await s.close();
    }
  },

  /**
   * IPv6 hands a customer 2^64 addresses: one client signs up from a fresh address of its /64 each
   * time, then from a fresh /64 each time (a /48 holds 65,536 of them). The first is one network
   * to the per-network limit; the second meets the ceiling on all signups.
   */
  'ipv6-spread': async (stack, o) => {
    const s = await prepare(stack, 'ipv6');
    const env = {
      ...s.env,
      TRUST_PROXY: '1',
      SIGNUP_LIMIT_PER_IP: '20',
      SIGNUP_LIMIT_PER_ADDRESS: '3',
      SIGNUP_LIMIT_GLOBAL: '100',
      SIGNUP_LIMIT_WINDOW_SECONDS: '3600',
    };
    const port = await freePort();
    const api = await startProcess({ ...env, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' });
    const worker = await startProcess(workerEnv(env));
    const base = `http://127.0.0.1:${port}`;
    const t0 = performance.now();
    const floodSize = Math.max(200, Math.round(o.subscribers / 10));
    const statuses: number[] = [];
    try {
      // Ordinary readers first, each from their own network, IPv6 and IPv4-mapped.
      const early: number[] = [];
      for (let i = 0; i < 20; i++) {
        const client = i % 2 ? inNetwork(`2001:db8:${(0x100 + i).toString(16)}:1`) : `::ffff:192.0.2.${i}`;
        early.push(await post(base, { email: `reader${i}@example.org` }, client));
      }
      const oneNetwork: number[] = [];
      await forEachConcurrently(
        Array.from({ length: floodSize }, (_, i) => i),
        20,
        async (i) => {
          oneNetwork.push(await post(base, { email: `same64-${i}@example.org` }, inNetwork('2001:db8:77:1')));
        },
      );
      const spread: number[] = [];
      await forEachConcurrently(
        Array.from({ length: floodSize }, (_, i) => i),
        20,
        async (i) => {
          const network = `2001:db8:99:${i.toString(16)}`;
          spread.push(await post(base, { email: `spread-${i}@example.org` }, inNetwork(network)));
        },
      );
      statuses.push(...early, ...oneNetwork, ...spread);
      const settled = await confirmationsSent(s.db);
      const to = (prefix: string) => stack.sink.accepted.filter((a) => a.to.startsWith(prefix)).length;
      const readers = new Set(stack.sink.accepted.filter((a) => a.to.startsWith('reader')).map((a) => a.to)).size;
      const ok = (xs: number[]) => xs.filter((x) => x === 202).length;
      return row({
        scenario: 'ipv6-spread',
        injected: `${floodSize} signups from random addresses of one IPv6 /64, then ${floodSize} from ${floodSize} different /64s of one /48, after 20 ordinary signups (limits 20 per network, 100 in all per hour)`,
        subscribers: 20,
        accepted: stack.sink.accepted.length,
        lost: ok(early) - readers,
        http5xx: statuses.filter((x) => x >= 500).length,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        notes: `${tally(statuses)}; one /64: ${ok(oneNetwork)} accepted, ${to('same64')} mailed; ${floodSize} /64s: ${ok(spread)} accepted, ${to('spread')} mailed; ordinary: ${ok(early)}/20 accepted, ${readers} mailed; confirmation mails in all: ${stack.sink.accepted.length} (ceiling 100)${settled ? '' : '; mail did not settle'}`,
      });
    } finally {
      await api.kill('SIGTERM');
      await worker.kill('SIGTERM');
      await s.close();
    }
  },

  /**
   * Someone who captured one signed bounce report plays it again: at once, many times, to two api
   * processes at the same moment; with its body changed to another reader; and as though captured
   * six minutes ago. Also the old bearer form, which is off. Only the original may act.
   */
  'replayed-webhook': async (stack, o) => {
    const s = await prepare(stack, 'webhook');
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const key = webhookKey(secret);
    const env = { ...s.env, WEBHOOK_SECRET: secret };
    const ports = [await freePort(), await freePort()];
    const apis = await Promise.all(
      ports.map((port) => startProcess({ ...env, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' })),
    );
    const t0 = performance.now();
    const readers = Math.max(20, Math.round(o.subscribers / 20));
    const statuses: number[] = [];
    try {
      await s.db.query(
        `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
         SELECT 'reader' || i || '@example.org', 'active', now() + interval '1 day', now()
           FROM generate_series(1, $1::int) i`,
        [readers],
      );
      const send = async (port: number, headers: Record<string, string>, body: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/webhooks/bounces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
        await res.arrayBuffer();
        statuses.push(res.status);
        return res.status;
      };
      const capture = (email: string, ageSeconds = 0) => {
        const id = `msg_${randomUUID()}`;
        const timestamp = String(Math.floor(Date.now() / 1000) - ageSeconds);
        const body = JSON.stringify({ email, type: 'bounce' });
        const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp };
        return { headers: { ...headers, 'webhook-signature': signWebhook(key, id, timestamp, body) }, body };
      };
      const captured = capture('reader1@example.org');
      const first = await send(ports[0] as number, captured.headers, captured.body);
      const replays = 100;
      const replayed = await Promise.all(
        Array.from({ length: replays }, (_, i) => send(ports[i % 2] as number, captured.headers, captured.body)),
      );
      // Another report, replayed at both apis the moment it is first sent: one of them takes it.
      const race = capture('reader2@example.org');
      const raced = await Promise.all(
        Array.from({ length: 20 }, (_, i) => send(ports[i % 2] as number, race.headers, race.body)),
      );
      const altered = await send(
        ports[0] as number,
        capture('reader3@example.org').headers,
        JSON.stringify({ email: 'reader4@example.org', type: 'bounce' }),
      );
      const old = capture('reader5@example.org', 6 * 60);
      const stale = await send(ports[1] as number, old.headers, old.body);
      const bearer = await send(
        ports[0] as number,
        { authorization: `Bearer ${secret}` },
        JSON.stringify({ email: 'reader6@example.org', type: 'bounce' }),
      );
      const { rows } = await s.db.query<{ email: string }>(
        "SELECT email FROM subscribers WHERE status <> 'active' ORDER BY email",
      );
      const suppressed = (await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM suppressions')).rows[0]?.n;
      return row({
        scenario: 'replayed-webhook',
        injected: `a signed bounce report replayed ${replays} times across two api processes, another raced 20 times at once, one altered after signing, one signed 6 minutes ago, the bearer form (${readers} readers)`,
        subscribers: readers,
        http5xx: statuses.filter((x) => x >= 500).length,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        notes: `original: ${first}; replays: ${tally(replayed)}; raced: ${tally(raced)}; altered: ${altered}; 6 minutes old: ${stale}; bearer: ${bearer}; readers no longer active: ${rows.map((r) => r.email.split('@')[0]).join(', ') || 'none'}; suppressions: ${suppressed}`,
      });
    } finally {
      for (const a of apis) await a.kill('SIGTERM');
      await s.close();
    }
  },
};
