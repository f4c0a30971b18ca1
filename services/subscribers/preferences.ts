import { z } from 'zod';
import { blank, ExcludedTerms, flag, Timezone, Topics, whole } from './schemas.ts';

/**
 * One preference: what a request may give for it (JSON, or a form's string) and how it is checked
 * and normalised, how the API shows it, its value until the subscriber picks one, the column of
 * `subscribers` it is stored in, and what the preferences form shows for it
 * (templates/pages/manage.hbs).
 */
interface Preference<I extends z.ZodType, C extends string> {
  input: I;
  output: z.ZodType<z.output<I>>;
  default: z.output<I>;
  column: C;
  form: (value: z.output<I>) => Record<string, unknown>;
}

const preference = <I extends z.ZodType, const C extends string>(p: Preference<I, C>) => p;

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** The hours of a day for a form's list, the current one selected. */
export const hourOptions = (selected: number) =>
  Array.from({ length: 24 }, (_, h) => ({
    value: h,
    label: `${String(h).padStart(2, '0')}:00`,
    selected: h === selected,
  }));

/**
 * Every preference a subscriber has, each defined once. The API's schemas, the forms, the
 * repository's SQL (its column lists are filled from `column`), the signup's defaults and the
 * export all read this; the columns themselves come from a migration, with the same defaults
 * (test/definitions.test.ts holds the two together).
 */
export const PREFERENCES = {
  topics: preference({
    input: Topics,
    output: z.array(z.string()),
    default: [],
    column: 'topics',
    form: (topics) => ({ topics: topics.join(', ') }),
  }),
  excludedTerms: preference({
    input: ExcludedTerms,
    output: z.array(z.string()),
    default: [],
    column: 'excluded_terms',
    form: (terms) => ({ excludedTerms: terms.join(', ') }),
  }),
  timezone: preference({
    input: Timezone.describe('IANA time zone of the delivery hour'),
    output: z.string(),
    default: 'UTC',
    column: 'timezone',
    form: (timezone) => ({ timezone }),
  }),
  hour: preference({
    input: whole(0, 23).describe('Local delivery hour, 0–23'),
    output: z.number().int(),
    default: 8,
    column: 'send_hour',
    form: (hour) => ({ hours: hourOptions(hour) }),
  }),
  frequency: preference({
    input: z.enum(['daily', 'weekdays', 'weekly']).describe('weekdays: Monday to Friday, when papers are announced'),
    output: z.enum(['daily', 'weekdays', 'weekly']),
    default: 'daily',
    column: 'frequency',
    form: (frequency) => ({
      frequencies: [
        { value: 'daily', label: 'Daily', selected: frequency === 'daily' },
        { value: 'weekdays', label: 'Weekdays (Monday to Friday)', selected: frequency === 'weekdays' },
        { value: 'weekly', label: 'Weekly', selected: frequency === 'weekly' },
      ],
    }),
  }),
  weekday: preference({
    input: whole(1, 7).describe('ISO weekday of weekly digests, 1 = Monday'),
    output: z.number().int(),
    default: 1,
    column: 'send_weekday',
    form: (weekday) => ({
      weekdays: WEEKDAYS.map((label, i) => ({ value: i + 1, label, selected: weekday === i + 1 })),
    }),
  }),
  maxPapers: preference({
    input: whole(1, 25).describe('Papers per digest, 1–25'),
    output: z.number().int(),
    default: 10,
    column: 'max_papers',
    form: (maxPapers) => ({ maxPapers }),
  }),
  delivery: preference({
    input: z
      .enum(['email', 'feed', 'both'])
      .describe('email: mailed; feed: only in the private Atom feed, no mail; both: mailed and in the feed'),
    output: z.enum(['email', 'feed', 'both']),
    default: 'email',
    column: 'delivery',
    form: (delivery) => ({
      deliveries: [
        { value: 'email', label: 'By email', selected: delivery === 'email' },
        { value: 'feed', label: 'Only in my feed (no mail)', selected: delivery === 'feed' },
        { value: 'both', label: 'By email and in my feed', selected: delivery === 'both' },
      ],
    }),
  }),
  nothingNew: preference({
    input: flag().describe('On a day with nothing new, mail a one-line note instead (at most once a week)'),
    output: z.boolean(),
    default: false,
    column: 'nothing_new_note',
    form: (nothingNew) => ({
      nothingNewChoices: [
        { value: 'false', label: 'Say nothing', selected: !nothingNew },
        { value: 'true', label: 'Mail me a one-line note (at most once a week)', selected: nothingNew },
      ],
    }),
  }),
};

type Definitions = typeof PREFERENCES;
export type PreferenceName = keyof Definitions;

/** A subscriber's choices, as the API and forms name them. */
export type Preferences = { -readonly [K in PreferenceName]: z.output<Definitions[K]['input']> };

/** The same choices as the columns of `subscribers` hold them. */
export type PreferenceColumns = {
  [K in PreferenceName as Definitions[K]['column']]: Preferences[K];
};

export const PREFERENCE_NAMES = Object.keys(PREFERENCES) as PreferenceName[];

const entries = <T>(f: <K extends PreferenceName>(name: K, p: Definitions[K]) => T) =>
  PREFERENCE_NAMES.map((name) => [name, f(name, PREFERENCES[name])] as const);

/** The columns, in the definition's order; the repository's SQL names them through this. */
export const PREFERENCE_COLUMNS = PREFERENCE_NAMES.map((name) => PREFERENCES[name].column);

export const PREFERENCE_DEFAULTS = Object.fromEntries(entries((_, p) => p.default)) as Preferences;

/**
 * Preferences given in a request, field by field: each optional, and a form's empty field means
 * "not given".
 */
export const PreferenceFields = Object.fromEntries(entries((_, p) => z.preprocess(blank, p.input.optional()))) as {
  [K in PreferenceName]: z.ZodPipe<z.ZodTransform, z.ZodOptional<Definitions[K]['input']>>;
};

/** Preferences given in a request: every field optional, nothing unknown. */
export const PreferencesInput = z.object(PreferenceFields).strict();
export type PreferencesInput = z.infer<typeof PreferencesInput>;

/** Every preference, as the API shows a subscription's. */
export const PreferencesBody = z.object(
  Object.fromEntries(entries((_, p) => p.output)) as { [K in PreferenceName]: Definitions[K]['output'] },
);

/** Fields given in `input` replace those in `base`; absent ones stay. */
export function mergePreferences<T extends object>(base: T, input: Partial<T>): T {
  const merged = { ...base };
  for (const key of Object.keys(input) as Array<keyof T>) {
    const value = input[key];
    if (value !== undefined) merged[key] = value as T[keyof T];
  }
  return merged;
}

/** Preferences as their columns hold them. */
export const toColumns = (p: Preferences): PreferenceColumns =>
  Object.fromEntries(entries((name, d) => [d.column, p[name]]).map(([, pair]) => pair)) as PreferenceColumns;

/** Preferences read from their columns (a subscriber row, or a return's requested_prefs). */
export const fromColumns = (row: PreferenceColumns): Preferences =>
  Object.fromEntries(entries((_, d) => (row as Record<string, unknown>)[d.column])) as Preferences;

/** What the preferences form shows for `p`: each preference's fields, as manage.hbs names them. */
export const preferenceForm = (p: Preferences): Record<string, unknown> =>
  Object.assign({}, ...entries((name, d) => d.form(p[name] as never)).map(([, fields]) => fields));

/** When digests arrive, in words: "every day at 08:00 UTC", "every Monday at 07:00 Europe/Berlin". */
export function describeSchedule(p: Pick<Preferences, 'frequency' | 'hour' | 'weekday' | 'timezone'>): string {
  const hour = `${String(p.hour).padStart(2, '0')}:00 ${p.timezone}`;
  if (p.frequency === 'weekly') return `every ${WEEKDAYS[p.weekday - 1]} at ${hour}`;
  return p.frequency === 'weekdays' ? `Monday to Friday at ${hour}` : `every day at ${hour}`;
}
