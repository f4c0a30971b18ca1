import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { PreferencesInput } from './preferences.ts';
import { Email, isBlockedDomain, isTimezone, knownTimezoneCount, mailboxKey, Topics } from './schemas.ts';
import { SignupInput } from './signup.ts';

/** A collection that leaves only what is still referenced on the heap. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('subscriber input', () => {
  it('normalises case, spaces and international domains', () => {
    expect(Email.parse('  Ada@Example.ORG ')).toBe('ada@example.org');
    expect(Email.parse('ada@Bücher.example')).toBe('ada@xn--bcher-kva.example');
    expect(Email.parse('ada@xn--bcher-kva.example')).toBe('ada@xn--bcher-kva.example');
  });

  it('rejects malformed addresses and control characters', () => {
    for (const bad of [
      '',
      'ada',
      '@example.org',
      'ada@',
      'a b@example.org',
      'ada@example.org\r\nBcc: x@y.z',
      'ada\u0000@x.org',
      `${'a'.repeat(250)}@x.org`,
    ]) {
      expect(Email.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('cleans topics from a list or a comma-separated string', () => {
    expect(Topics.parse(' LoRA, diffusion  models,,lora ')).toEqual(['lora', 'diffusion models']);
    expect(Topics.parse(['RL'])).toEqual(['rl']);
    expect(Topics.safeParse(['a\nb']).success).toBe(false);
    expect(Topics.safeParse(Array.from({ length: 21 }, (_, i) => `t${i}`)).success).toBe(false);
  });

  it('accepts IANA time zones only', () => {
    expect(isTimezone('Europe/Berlin')).toBe(true);
    expect(isTimezone('Mars/Olympus')).toBe(false);
    expect(isTimezone('UTC\n')).toBe(false);
  });

  it('keeps a time zone under its own name when only the case differs, and an alias as given', () => {
    expect(PreferencesInput.parse({ timezone: 'europe/BERLIN' })).toEqual({ timezone: 'Europe/Berlin' });
    expect(PreferencesInput.parse({ timezone: 'utc' })).toEqual({ timezone: 'UTC' });
    expect(PreferencesInput.parse({ timezone: 'Asia/Kolkata' })).toEqual({ timezone: 'Asia/Kolkata' });
    expect(PreferencesInput.safeParse({ timezone: 'Mars/Olympus' }).success).toBe(false);
  });

  it('remembers one entry per zone, however many spellings arrive: 200,000 leave the heap flat', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const spell = (zone: string) => [...zone].map((c) => (random() < 0.5 ? c.toLowerCase() : c.toUpperCase())).join('');
    const gc = collectGarbage();
    // Warm up: every real zone checked once, and whatever the first checks allocate for good.
    for (const zone of zones) expect(isTimezone(spell(zone))).toBe(true);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200_000; i++) {
      if (!isTimezone(spell(zones[i % zones.length] as string))) throw new Error(`rejected ${zones[i % zones.length]}`);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(knownTimezoneCount()).toBeLessThanOrEqual(zones.length + 10);
    // 200,000 remembered spellings would take well over 10 MB.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });

  it('counts an address by its mailbox for the limits: subaddresses, and dots at Gmail', () => {
    expect(mailboxKey('victim+1@example.org')).toBe('victim@example.org');
    expect(mailboxKey('victim+any+thing@example.org')).toBe('victim@example.org');
    expect(mailboxKey('v.ic.tim@example.org')).toBe('v.ic.tim@example.org');
    expect(mailboxKey('v.ic.tim+x@gmail.com')).toBe('victim@gmail.com');
    expect(mailboxKey('victim@googlemail.com')).toBe('victim@gmail.com');
    expect(mailboxKey('+only@example.org')).toBe('+only@example.org');
  });

  it('reads form strings as numbers and empty fields as absent', () => {
    expect(SignupInput.parse({ email: 'a@b.org', hour: '7', maxPapers: '', topics: '' })).toEqual({
      email: 'a@b.org',
      hour: 7,
    });
    for (const hour of ['7.5', true, [7], '', ' 7x', {}]) {
      const r = SignupInput.safeParse({ email: 'a@b.org', hour });
      expect(r.success && r.data.hour !== undefined, JSON.stringify(hour)).toBe(false);
    }
    expect(SignupInput.safeParse({ email: 'a@b.org', extra: 1 }).success).toBe(false);
  });

  it('blocks a configured domain and its subdomains', () => {
    const blocked = new Set(['mailinator.com']);
    expect(isBlockedDomain('x@mailinator.com', blocked)).toBe(true);
    expect(isBlockedDomain('x@eu.mailinator.com', blocked)).toBe(true);
    expect(isBlockedDomain('x@notmailinator.com', blocked)).toBe(false);
  });
});
