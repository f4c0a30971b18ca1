import { describe, expect, it } from 'vitest';
import { Email, isBlockedDomain, isTimezone, SignupInput, Topics } from './schemas.ts';

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
