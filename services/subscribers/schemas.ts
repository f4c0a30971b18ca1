import { z } from 'zod';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Form fields arrive as strings and empty inputs as ''; both mean "not given". */
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz.length <= 64 && !CONTROL.test(tz);
  } catch {
    return false;
  }
}

export const Email = z
  .string({ error: 'email is required' })
  .trim()
  .toLowerCase()
  .max(254, 'email is too long')
  .refine((s) => !CONTROL.test(s), 'email contains control characters')
  .pipe(z.email('email is not a valid address'));

export const Topics = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',') : v),
  z
    .array(z.string().max(60, 'each topic is at most 60 characters'))
    .transform((ts) => [...new Set(ts.map((t) => t.replace(/\s+/g, ' ').trim().toLowerCase()).filter(Boolean))])
    .pipe(
      z
        .array(z.string().refine((s) => !CONTROL.test(s), 'topics contain control characters'))
        .max(20, 'at most 20 topics'),
    ),
);

export const Preferences = z.object({
  topics: z.preprocess(blank, Topics.optional()),
  timezone: z.preprocess(
    blank,
    z.string().refine(isTimezone, 'timezone must be an IANA name such as Europe/Berlin').optional(),
  ),
  hour: z.preprocess(blank, z.coerce.number().int().min(0).max(23).optional()),
  frequency: z.preprocess(blank, z.enum(['daily', 'weekly']).optional()),
  /** ISO weekday for weekly digests, 1 = Monday. */
  weekday: z.preprocess(blank, z.coerce.number().int().min(1).max(7).optional()),
  maxPapers: z.preprocess(blank, z.coerce.number().int().min(1).max(25).optional()),
});

export const SignupInput = Preferences.extend({ email: Email }).strict();
export type SignupInput = z.infer<typeof SignupInput>;

export const PREFERENCE_DEFAULTS = {
  topics: [] as string[],
  timezone: 'UTC',
  hour: 8,
  frequency: 'daily' as const,
  weekday: 1,
  maxPapers: 10,
};
