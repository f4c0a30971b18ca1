import { z } from 'zod';
import { PreferencesBody } from '../subscribers/preferences.ts';
import { SubscriberStatus } from '../subscribers/status.ts';

/** Response and parameter shapes of the HTTP API; request bodies come from services/subscribers/schemas.ts. */

export const ErrorBody = z
  .object({
    error: z.string().describe('Machine-readable code, e.g. invalid_request, rate_limited, invalid_token'),
    message: z.string().describe('What went wrong, for people'),
  })
  .meta({ id: 'Error' });

export const TokenParams = z.object({
  token: z.string().max(200).describe('The token from a link Paperboy mailed'),
});

/** A row's number in the URL (a paper's, a delivery's): a positive whole number. */
export const RowId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * A day in the URL, YYYY-MM-DD: a real calendar day from year 1 (no year 0, no 30 February; the
 * Date constructor would roll those over and PostgreSQL would refuse them).
 */
export const CalendarDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'date: expected YYYY-MM-DD')
  .refine((d) => {
    const [y, m, day] = d.split('-').map(Number) as [number, number, number];
    const t = new Date(0);
    t.setUTCFullYear(y, m - 1, day);
    return y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === day;
  }, 'date: not a calendar day');

export const SignupAccepted = z.object({
  status: z.literal('pending'),
  message: z.string(),
});

export const SubscriptionBody = z
  .object({
    email: z.string(),
    status: SubscriberStatus,
    preferences: PreferencesBody,
    nextDigestAt: z.string().nullable().describe('When the next digest is due, while active'),
  })
  .meta({ id: 'Subscription' });

export const errors = (...codes: (400 | 404 | 409 | 413 | 415 | 429)[]) =>
  Object.fromEntries(codes.map((c) => [c, ErrorBody]));
