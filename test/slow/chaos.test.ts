import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abuseScenarios } from '../chaos/abuse.ts';
import { chaosTable } from '../chaos/report.ts';
import { scenarios as faults, type ScenarioResult } from '../chaos/scenarios.ts';
import { type ChaosStack, startChaosStack } from '../chaos/stack.ts';

/**
 * The fault suite, small: the same scenarios `npm run chaos` runs at 20,000 subscribers, here
 * at a few hundred, against real service processes, PostgreSQL, Redis and SMTP. Whatever breaks,
 * nobody owed a digest goes without, and a second copy only ever comes from a crash between the
 * SMTP server's 250 and the commit, with the same Message-ID.
 */
const N = Number(process.env.CHAOS_SUBSCRIBERS ?? 400);
const options = { subscribers: N, smtpDownMs: 5000 };
const scenarios = { ...faults, ...abuseScenarios };

describe('faults during a digest run', () => {
  let stack: ChaosStack;
  const results: ScenarioResult[] = [];
  beforeAll(async () => {
    stack = await startChaosStack();
  });
  afterAll(async () => {
    if (results.length) console.log(chaosTable(results, 'npx vitest run test/slow/chaos.test.ts'));
    await stack?.stop();
  });

  const run = async (name: string, subscribers = N) => {
    const r = await (scenarios[name] as (typeof scenarios)[string])(stack, { ...options, subscribers });
    results.push(r);
    expect(r.notes).not.toMatch(/did not settle|marked failed|did not recover/);
    expect(r.lost).toBe(0);
    expect(r.duplicatesWithNewId).toBe(0);
    return r;
  };

  it('sends each digest once when nothing goes wrong', async () => {
    const r = await run('baseline');
    expect(r.duplicates).toBe(0);
    expect(r.accepted).toBe(N);
  }, 120_000);

  it('survives the worker being killed five times', async () => {
    const r = await run('worker-killed');
    // At most the sends in flight at each kill: 2 jobs × 8 lanes.
    expect(r.duplicates).toBeLessThanOrEqual(5 * 16);
  }, 240_000);

  it('retries temporary SMTP failures until all are delivered', async () => {
    const r = await run('smtp-temporary-failures');
    expect(r.retries).toBeGreaterThan(0);
    expect(r.duplicates).toBe(0);
  }, 180_000);

  it('marks refused addresses bounced and suppressed, never retried', async () => {
    const r = await run('smtp-permanent-failures');
    const refused = Math.ceil(N / 100);
    expect(r.bounced).toBe(refused);
    expect(r.notes).toContain(
      `${refused} refused addresses: ${refused} marked bounced, ${refused} suppressed, 0 retried, 0 still scheduled, 0 messages accepted for them`,
    );
  }, 180_000);

  it('waits out an SMTP outage', async () => {
    const r = await run('smtp-down');
    expect(r.retries).toBeGreaterThan(0);
  }, 180_000);

  it('completes after Redis comes back empty', async () => {
    await run('redis-restarted-empty');
  }, 180_000);

  it('recovers from a PostgreSQL restart without restarting the service, and sends nothing twice', async () => {
    // Enough subscribers that messages are in flight when PostgreSQL goes: their sends are
    // recorded once it is back, not sent again after their lease.
    const r = await run('postgres-restarted', Math.max(N, 3000));
    expect(r.notes).toContain('api answered 202 again without a restart');
    expect(r.duplicates).toBe(0);
  }, 180_000);

  it('keeps its processes when PostgreSQL terminates their backends again and again, and sends nothing twice', async () => {
    const r = await run('postgres-backends-terminated');
    expect(r.notes).toContain('first planning transaction cut');
    expect(r.notes).toContain('worker and api kept running');
    expect(r.notes).toContain('api answered 202 again without a restart');
    expect(r.http5xx).toBe(0);
    expect(r.duplicates).toBe(0);
  }, 180_000);

  it('stops within its bound on SIGTERM, and the next worker finishes the run', async () => {
    const r = await run('worker-sigterm');
    const seconds = Number(/stopped in ([\d.]+) s/.exec(r.notes)?.[1]);
    expect(seconds).toBeLessThanOrEqual(10);
    expect(r.duplicates).toBe(0);
  }, 180_000);

  it('keeps everyone owed and nobody bounced while the relay refuses the sender, then sends each digest once', async () => {
    const r = await run('relay-refuses-sender');
    expect(r.bounced).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.notes).toMatch(/0 bounced, 0 suppressed, 0 failed; then fixed/);
    // The breaker: the relay is probed, not tried by every one of the owed digests.
    const refusals = Number(/(\d+) commands refused/.exec(r.notes)?.[1]);
    expect(refusals).toBeLessThan(N / 4);
  }, 240_000);

  it('does the same when the relay refuses the login', async () => {
    const r = await run('relay-refuses-login');
    expect(r.bounced).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.notes).toMatch(/0 bounced, 0 suppressed, 0 failed; then fixed/);
    expect(Number(/(\d+) commands refused/.exec(r.notes)?.[1])).toBeLessThan(N / 4);
  }, 240_000);

  it('gives up a message refused for its content, keeping its reader and their next digest', async () => {
    const r = await run('content-refused');
    const refused = Math.ceil(N / 100);
    expect(r.notes).toContain(
      `${refused} messages refused: ${refused} failed with the reply kept, ${refused} readers still active, ${refused} with their next digest scheduled, 0 suppressed`,
    );
    expect(r.accepted).toBe(N - refused);
  }, 180_000);

  it('files a digest planned late across local midnight under its evening, and sends the next evening too', async () => {
    const r = await run('late-planning-midnight');
    expect(r.notes).toMatch(
      new RegExp(`first evening ${N} sent \\(0 missing\\).*: right\\); next evening ${N}/${N} scheduled on time`),
    );
    expect(r.notes).toMatch(new RegExp(`exit 0, filed under \\d{4}-\\d{2}-\\d{2} × ${N}$`));
    expect(r.duplicates).toBe(0);
  }, 240_000);

  it('sends each digest once with 3 workers and 2 schedulers, one of each killed mid-run', async () => {
    const r = await run('scaled-out');
    expect(r.notes).toContain('killed 1 of 3 workers and 1 of 2 schedulers');
    expect(r.duplicates).toBeLessThanOrEqual(16); // at most the sends in flight in the killed worker
  }, 240_000);

  it('answers a signup flood with 429s, mails flooded addresses no more than the limits, serves everyone else', async () => {
    const r = await run('signup-flood');
    expect(r.http5xx).toBe(0);
    expect(r.notes).toContain('100/100 ordinary signups accepted');
    expect(r.notes).toMatch(/confirmation mails: 20 to the flooding IP's addresses, [1-3] to the victim/);
  }, 120_000);

  it('counts the client the proxy saw, not the X-Forwarded-For it forged; TRUST_PROXY=true does not start', async () => {
    const r = await run('forwarded-header-flood');
    expect(r.http5xx).toBe(0);
    expect(r.notes).toContain(
      'confirmation mails to the forging client: 20 through TRUST_PROXY=1, 20 through TRUST_PROXY=127.0.0.1/8',
    );
    expect(r.notes).toContain('50/50 ordinary signups accepted');
    expect(r.notes).toMatch(/TRUST_PROXY=true: exit 2, "TRUST_PROXY: true would believe any X-Forwarded-For/);
  }, 120_000);

  it('counts an IPv6 /64 as one network, and caps signups spread over many', async () => {
    const r = await run('ipv6-spread');
    expect(r.http5xx).toBe(0);
    expect(r.notes).toMatch(
      /one \/64: 20 accepted, 20 mailed; \d+ \/64s: 60 accepted, 60 mailed; ordinary: 20\/20 accepted, 20 mailed; confirmation mails in all: 100 \(ceiling 100\)$/,
    );
  }, 120_000);

  it('takes a signed webhook once: replays, altered and stale copies and the bearer form are refused', async () => {
    const r = await run('replayed-webhook');
    expect(r.http5xx).toBe(0);
    expect(r.notes).toBe(
      'original: 200; replays: 100 × 409; raced: 1 × 200, 19 × 409; altered: 401; 6 minutes old: 401; bearer: 401; readers no longer active: reader1, reader2; suppressions: 2',
    );
  }, 120_000);

  it('escapes hostile paper text from ingestion to every mail and page', async () => {
    const r = await run('hostile-paper-text');
    expect(r.notes).toMatch(/ingest exit 0; shown in [4-6] of 6 places .*unescaped in 0;/);
    expect(r.notes).toContain('plain-text part shows it verbatim: yes');
  }, 120_000);

  it('changes nothing when a scanner fetches every link in every mail, while readers confirm with the button', async () => {
    const r = await run('link-scanner');
    const n = r.subscribers;
    expect(r.http5xx).toBe(0);
    expect(r.notes).toContain(
      `${4 * n} mails scanned (${n} confirmation, ${n} digest, ${n} already-subscribed, ${n} preferences link)`,
    );
    expect(r.notes).toContain(`pending after the scan of the confirmations: ${n}/${n}`);
    expect(r.notes).toContain('state changes by the scanner: 0;');
    expect(r.notes).toContain(`readers active at the end: ${n}/${n}`);
  }, 180_000);

  it('refuses forged, altered, foreign and erased tokens, without a 5xx or a leaked address', async () => {
    const r = await run('forged-tokens');
    expect(r.http5xx).toBe(0);
    expect(r.notes).toMatch(/\(accepted: 0\)/);
    expect(r.notes).toContain('left in the database: victim active; answers showing an address: 0');
  }, 120_000);
});
