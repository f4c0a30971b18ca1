import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, parse, runCli, subscribeAndConfirm } from './support/harness.ts';

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
    const early = await runCli(['digest', 'run', '--at', '2026-03-03T05:30:00Z'], h.env);
    expect(early.code).toBe(0);
    expect(early.stdout).toMatch(/0 due, 0 sent/);

    const run = await runCli(['digest', 'run', '--at', '2026-03-03T08:00:00Z'], h.env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/2 due, 2 sent, 0 skipped/);
    const two = await parse(h.sink.to('two@example.org').at(-1)!);
    expect(two.subject).toMatch(/^3 trending papers today · Tuesday, 3 March$/);

    const again = await runCli(['digest', 'run', '--at', '2026-03-03T08:30:00Z'], h.env);
    expect(again.stdout).toMatch(/0 due, 0 sent/);
    expect(h.sink.to('one@example.org').filter((m) => m.raw.includes('Message-ID: <digest.'))).toHaveLength(1);
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

  it('prints help', async () => {
    const help = await runCli(['--help'], h.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('digest run [--at <time>]');
  });
});
