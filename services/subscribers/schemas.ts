import { domainToASCII } from 'node:url';
import { z } from 'zod';

/** The values a subscriber gives, checked one by one; preferences.ts puts the preferences together. */

export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Form fields arrive as strings and empty inputs as ''; both mean "not given". */
export const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/**
 * Time zone names already checked, by their lower-case spelling, with the runtime's name for the
 * zone: building a formatter costs far more than a lookup. Every spelling of a name shares one
 * entry, so the map holds at most one per name the runtime knows (about 600, aliases included)
 * however many spellings arrive; the cap is a second bound should a runtime know many more.
 */
const knownZones = new Map<string, string>();
const MAX_KNOWN_ZONES = 1000;

/**
 * The name to keep for a time zone, or undefined if it is not one: the runtime's own spelling when
 * only the letter case differs ("europe/berlin" is kept as "Europe/Berlin"), and an alias the
 * runtime maps to another name (Asia/Kolkata, US/Eastern) as it was given, since the reader chose
 * it and PostgreSQL knows it too.
 */
export function canonicalTimezone(tz: string): string | undefined {
  if (tz.length > 64 || CONTROL.test(tz)) return undefined;
  const key = tz.toLowerCase();
  let resolved = knownZones.get(key);
  if (resolved === undefined) {
    try {
      resolved = new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
    } catch {
      return undefined;
    }
    if (knownZones.size < MAX_KNOWN_ZONES) knownZones.set(key, resolved);
  }
  return resolved.toLowerCase() === key ? resolved : tz;
}

export const isTimezone = (tz: string): boolean => canonicalTimezone(tz) !== undefined;

/** How many zone names the check keeps (bounded, whatever the requests). */
export const knownTimezoneCount = () => knownZones.size;

/**
 * One spelling per mailbox: trimmed, lower-cased, the domain in its ASCII (punycode) form, so
 * "Ada@Bücher.example" and "ada@xn--bcher-kva.example" are the same subscriber.
 */
export function normalizeEmail(raw: string): string {
  const s = raw.normalize('NFC').trim();
  const at = s.lastIndexOf('@');
  if (at <= 0) return s.toLowerCase();
  const domain = domainToASCII(s.slice(at + 1).toLowerCase());
  return `${s.slice(0, at).toLowerCase()}@${domain || s.slice(at + 1)}`;
}

export const Email = z
  .string({ error: 'email is required' })
  .max(254, 'email is too long')
  .refine((s) => !CONTROL.test(s), 'email contains control characters')
  .transform(normalizeEmail)
  .pipe(z.email('email is not a valid address').max(254, 'email is too long'))
  .describe('Email address; case, surrounding spaces and international domain spellings are normalised');

/**
 * A list of short phrases, a list or one comma-separated string: each trimmed, its spaces
 * collapsed and lower-cased, repeats and blanks dropped, at most 20 of at most 60 characters.
 */
const phraseList = (one: string, many: string) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',') : v),
    z
      .array(
        z
          .string()
          .max(60, `each ${one} is at most 60 characters`)
          .refine((s) => !CONTROL.test(s), `${many} contain control characters`),
      )
      .max(50, `at most 20 ${many}`)
      .transform((ts) => [...new Set(ts.map((t) => t.replace(/\s+/g, ' ').trim().toLowerCase()).filter(Boolean))])
      .pipe(z.array(z.string()).max(20, `at most 20 ${many}`)),
  );

export const Topics = phraseList('topic', 'topics').describe(
  'Keywords that favour matching papers; a list, or one comma-separated string',
);

/** Terms whose papers are never sent: written, split and normalised as topics are. */
export const ExcludedTerms = phraseList('excluded term', 'excluded terms').describe(
  'A paper matching any of these (every word, in its title, keywords or abstract) is never sent',
);

/** An IANA time zone name, kept in the spelling canonicalTimezone gives it. */
export const Timezone = z.string().transform((tz, ctx) => {
  const name = canonicalTimezone(tz);
  if (name === undefined) {
    ctx.addIssue({ code: 'custom', message: 'timezone must be an IANA name such as Europe/Berlin' });
    return z.NEVER;
  }
  return name;
});

/**
 * A whole number from JSON, or from a form's string ("7"); booleans, arrays and "7.5" are
 * rejected rather than coerced.
 */
export const whole = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d{1,6}\s*$/.test(v) ? Number(v) : v),
    z.number({ error: 'expected a whole number' }).int().min(min).max(max),
  );

/** Yes or no, from JSON (true, false) or from a form's string ("true", "false"); nothing else. */
export const flag = () =>
  z.preprocess(
    (v) => (v === 'true' ? true : v === 'false' ? false : v),
    z.boolean({ error: 'expected true or false' }),
  );

/** Domains whose mailboxes ignore dots in the local part, under the name they share. */
const DOTLESS_DOMAINS: Record<string, string> = { 'gmail.com': 'gmail.com', 'googlemail.com': 'gmail.com' };

/**
 * The mailbox a (normalised) address delivers to, as far as rate limits are concerned: the
 * subaddress after `+` dropped (victim+1@ and victim+x@ reach victim@), and for Gmail dots in the
 * local part dropped and googlemail.com read as gmail.com. Only the limits use it: the address is
 * stored and mailed as it was given.
 */
export function mailboxKey(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return email;
  let local = email.slice(0, at);
  let domain = email.slice(at + 1);
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  const dotless = DOTLESS_DOMAINS[domain];
  if (dotless) {
    local = local.replaceAll('.', '');
    domain = dotless;
  }
  return `${local}@${domain}`;
}

/** Whether an address's domain, or a domain it is under, is in the blocked list. */
export function isBlockedDomain(email: string, blocked: ReadonlySet<string>): boolean {
  let domain = email.slice(email.lastIndexOf('@') + 1);
  for (;;) {
    if (blocked.has(domain)) return true;
    const dot = domain.indexOf('.');
    if (dot < 0) return false;
    domain = domain.slice(dot + 1);
  }
}
