import type { Preferences } from '../subscribers/repository.ts';

/** Option lists for the preference forms, with the current choice selected. */

export const hourOptions = (selected: number) =>
  Array.from({ length: 24 }, (_, h) => ({
    value: h,
    label: `${String(h).padStart(2, '0')}:00`,
    selected: h === selected,
  }));

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export function preferenceForm(p: Preferences) {
  return {
    topics: p.topics.join(', '),
    timezone: p.timezone,
    maxPapers: p.maxPapers,
    hours: hourOptions(p.hour),
    frequencies: [
      { value: 'daily', label: 'Daily', selected: p.frequency === 'daily' },
      { value: 'weekly', label: 'Weekly', selected: p.frequency === 'weekly' },
    ],
    weekdays: WEEKDAYS.map((label, i) => ({ value: i + 1, label, selected: p.weekday === i + 1 })),
  };
}
