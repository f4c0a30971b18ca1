import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, parse, runCli, subscribeAndConfirm } from '../support/harness.ts';

/** A command's stderr as progress lines: plain lines, none redrawn in place, each naming the command. */
function progressLines(stderr: string): string[] {
  expect(stderr).not.toMatch(/[\r\x1b]/);
  const lines = stderr.split('\n').filter(Boolean);
  for (const line of lines) expect(line).toMatch(/^(digest run|ingest|seed): /);
  return lines;
}

describe('paperboy CLI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
    // Confirmed at the harness clock (2 March 10:00 UTC): due 3 March 08:00 UTC and 07:00 Berlin.
    await subscribeAndConfirm(h, 'one@example.org');
    await subscribeAndConfirm(h, 'two@example.org', { timezone: 'Europe/Berlin', hour: 7, maxPapers: 3 });
  });
  afterAll(async () => h?.close());

  it('digest run --at sends what is due at that time, prints the count and exits', async () => {
    // The preview first: the digest two@ would get, sent to nobody, recorded nowhere.
    const preview = await runCli(
      ['digest', 'preview', '--email', 'two@example.org', '--at', '2026-03-03T08:00:00Z'],
      h.env,
    );
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/^Subject: 3 trending papers today · Tuesday, 3 March\n\n/);
    expect(preview.stdout).toContain('1. ');
    const html = await runCli(
      ['digest', 'preview', '--email', 'two@example.org', '--at', '2026-03-03T08:00:00Z', '--html'],
      h.env,
    );
    expect(html.stdout).toMatch(/^<!doctype html>/i);
    expect(h.sink.to('two@example.org').filter((m) => m.raw.includes('Message-ID: <digest.'))).toHaveLength(0);

    const early = await runCli(['digest', 'run', '--at', '2026-03-03T05:30:00Z'], h.env);
    expect(early.code).toBe(0);
    expect(early.stdout).toMatch(/0 due, 0 sent/);
    expect(progressLines(early.stderr).at(-1)).toMatch(/^digest run: 0\/0 due · \d+ s$/);

    const run = await runCli(['digest', 'run', '--at', '2026-03-03T08:00:00Z'], h.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'Digest run at 2026-03-03T08:00:00.000Z: 2 due, 2 sent, 0 skipped (nothing new), 0 deferred, 0 failed, 0 bounced, 0 refused\n',
    );
    // Not a terminal: plain lines on stderr (no bar redrawn in place), the last one with the counts.
    expect(progressLines(run.stderr).at(-1)).toMatch(/^digest run: 2\/2 due · 2 sent · \d+ s$/);
    const two = await parse(h.sink.to('two@example.org').at(-1)!);
    expect(two.subject).toMatch(/^3 trending papers today · Tuesday, 3 March$/);

    const again = await runCli(['digest', 'run', '--at', '2026-03-03T08:30:00Z'], h.env);
    expect(again.stdout).toMatch(/0 due, 0 sent/);
    expect(h.sink.to('one@example.org').filter((m) => m.raw.includes('Message-ID: <digest.'))).toHaveLength(1);
  });

  it('seed reports its progress on stderr and says so on stdout', async () => {
    const seed = await runCli(['seed'], h.env);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toBe('Seed papers are loaded.\n');
    expect(progressLines(seed.stderr).at(-1)).toMatch(/^seed: 271\/271 entries · 270 unchanged · 1 skipped · \d+ s$/);
  });

  it('refuses a bad time and a bad setting with a message naming it', async () => {
    const badAt = await runCli(['digest', 'run', '--at', 'tomorrow-ish'], h.env);
    expect(badAt.code).toBe(2);
    expect(badAt.stderr).toContain('--at: not a time: tomorrow-ish');

    const badOption = await runCli(['digest', 'run', '--when', 'now'], h.env);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("Unknown option '--when'");

    const badPort = await runCli(['digest', 'run'], { ...h.env, PORT: 'eighty' });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/invalid configuration:\n\s+PORT: /);
  });

  it('looks a subscriber up, exports and erases them', async () => {
    const show = await runCli(['subscriber', 'show', '--email', 'Two@Example.org'], h.env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^two@example\.org: active \(id \d+, signed up /);
    expect(show.stdout).toContain('daily at 07:00 Europe/Berlin, 3 papers');

    const exported = await runCli(['subscriber', 'export', '--email', 'two@example.org'], h.env);
    const data = JSON.parse(exported.stdout);
    expect(data.subscriber).toMatchObject({ email: 'two@example.org', status: 'active' });
    expect(data.digests).toHaveLength(1);

    const erased = await runCli(['subscriber', 'erase', '--email', 'two@example.org'], h.env);
    expect(erased.stdout).toContain('Erased two@example.org');
    const gone = await runCli(['subscriber', 'show', '--email', 'two@example.org'], h.env);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('no subscriber with the address two@example.org');
  });

  it('check says whether PostgreSQL, Redis and SMTP answer, in its exit code too', async () => {
    const ok = await runCli(['check'], h.env);
    expect(ok.stdout).toBe('postgres: ok\nredis: ok\nsmtp: ok\n');
    expect(ok.code).toBe(0);
    const down = await runCli(['check'], { ...h.env, SMTP_URL: 'smtp://127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.stdout).toContain('smtp: unreachable');
  });

  it('prints help', async () => {
    const help = await runCli(['--help'], h.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('digest run [--at <time>]');
  });

  it('retention run deletes what is past its retention, once, and prints what it deleted', async () => {
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, created_at, confirm_queued_at, confirm_sent_at)
       VALUES ('cli@example.org', 'pending', now() - interval '15 days', now() - interval '15 days', now() - interval '15 days')`,
    );
    const run = await runCli(['retention', 'run'], h.env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^Deleted 1 signup never confirmed, 0 paper observations and 0 ingest runs; cleared the SMTP replies of 0 deliveries and 0 confirmations; removed finished jobs: none\.\n$/,
    );
    const row = await h.services.db.query("SELECT 1 FROM subscribers WHERE email = 'cli@example.org'");
    expect(row.rows).toEqual([]);
  });
});
