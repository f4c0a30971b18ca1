import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
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

async function post(base: string, body: unknown, ip: string) {
  const res = await fetch(`${base}/api/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
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
      TRUST_PROXY: 'true',
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
    stack.sink.keepRaw = true;
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
      const raw = stack.sink.accepted[0]?.raw;
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
   * Links with forged tokens: random ones, real ones with a changed character, ones signed with
   * another secret or for another purpose or subscriber, and the real links of an erased
   * subscriber. None may act, none may answer 5xx, and no answer may show an address.
   */
  'forged-tokens': async (stack, o) => {
    const s = await prepare(stack, 'tokens');
    const port = await freePort();
    const api = await startProcess({ ...s.env, ROLES: 'api', PORT: String(port), HOST: '127.0.0.1' });
    const t0 = performance.now();
    try {
      await s.db.query(
        `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
         VALUES ('victim@example.org', 'active', now() + interval '1 day', now()),
                ('erased@example.org', 'active', now() + interval '1 day', now())`,
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
      const forged: string[] = [];
      for (let i = 0; i < n; i++) {
        forged.push(random(), tamper(real.sign('unsubscribe', 1), i), other.sign('unsubscribe', 1));
        forged.push(real.sign('confirm', 1), real.sign('unsubscribe', 1, new Date(Date.now() - 1000)));
      }
      const targets = (t: string): [string, string][] => [
        ['POST', `/u/${t}`],
        ['GET', `/manage/${t}`],
        ['POST', `/manage/${t}/erase`],
        ['GET', `/api/subscription/${t}`],
      ];
      // The erased subscriber's own links, taken before erasure, must stop working.
      const erasedLinks = [real.sign('unsubscribe', 2), real.sign('manage', 2)];
      await s.db.query("DELETE FROM subscribers WHERE email = 'erased@example.org'");
      let leaks = 0;
      const ask = async (list: string[]) => {
        const statuses = new Map<number, number>();
        await forEachConcurrently(list.flatMap(targets), 10, async ([method, url]) => {
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
      const requests = (forged.length + erasedLinks.length) * 4;
      const { rows } = await s.db.query<{ email: string; status: string }>('SELECT email, status FROM subscribers');
      const state = rows.map((r) => `${r.email.split('@')[0]} ${r.status}`).join(', ');
      const acted = [...forgedAnswers].filter(([k]) => k < 400).reduce((a, [, c]) => a + c, 0);
      const http5xx = [...forgedAnswers, ...erasedAnswers].filter(([k]) => k >= 500).reduce((a, [, c]) => a + c, 0);
      return row({
        scenario: 'forged-tokens',
        injected: `${requests} requests to unsubscribe, preferences, erase and the API with random, altered, foreign-secret, wrong-purpose and expired tokens, and an erased subscriber's real links`,
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
};
