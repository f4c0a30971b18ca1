import type { SubscriberLookup } from '../../subscribers/manage.ts';
import { defineCommand, expected } from '../command.ts';
import { withServices } from '../lifecycle.ts';

const SUBSCRIBER = {
  usage: 'subscriber show|export|erase --email <address>',
  summary:
    'Look a subscriber up, print everything stored about them (JSON),\nor erase them (a hashed suppression stays)',
};

/** The same actions a subscriber takes through their preferences link, by address. */
export const subscriber = defineCommand({
  name: 'subscriber',
  help: [SUBSCRIBER],
  options: { email: { type: 'string' } },
  async run({ config, log, words, options }) {
    const [action] = words;
    const { email } = options;
    if (!email || !['show', 'export', 'erase'].includes(action ?? '')) throw expected(SUBSCRIBER);
    await withServices(config, log, async (services) => {
      if (action === 'export') {
        console.log(JSON.stringify(await services.manage.exportByEmail(email), null, 2));
      } else if (action === 'erase') {
        const erased = await services.manage.eraseByEmail(email);
        console.log(`Erased ${erased}; only a hash of the address is kept, so it is not mailed by accident.`);
      } else {
        const found = await services.manage.lookup(email);
        const { subscriber: s, view: v } = found;
        const p = v.preferences;
        console.log(
          [
            `${v.email}: ${v.status} (id ${s.id}, signed up ${s.created_at.toISOString()})`,
            `  ${p.frequency}${p.frequency === 'weekly' ? ` on day ${p.weekday}` : ''} at ${String(p.hour).padStart(2, '0')}:00 ${p.timezone}, ${p.maxPapers} papers`,
            `  topics: ${p.topics.length ? p.topics.join(', ') : 'none'}`,
            `  next digest: ${v.nextDigestAt ?? 'none'}`,
            ...confirmationLines(found),
          ].join('\n'),
        );
      }
    });
  },
});

/**
 * Where an unconfirmed subscriber's confirmation mail stands: owed (and how its tries went) or
 * given up, and why; for one who left, the return a signup asked for.
 */
function confirmationLines({
  subscriber: s,
  awaitsConfirmation: awaiting,
  requestedPreferences: asked,
}: SubscriberLookup): string[] {
  const request = asked
    ? [
        `  a signup asks to come back, once confirmed: ${asked.frequency} at ${String(asked.hour).padStart(2, '0')}:00 ${asked.timezone}, ${asked.maxPapers} papers, topics: ${asked.topics.join(', ') || 'none'}`,
      ]
    : [];
  if (!awaiting && s.status !== 'bounced') return [];
  if (s.confirm_given_up_at) {
    return [
      ...request,
      `  confirmation given up ${s.confirm_given_up_at.toISOString()}: ${s.confirm_last_error ?? ''}`,
    ];
  }
  if (!awaiting || s.confirm_sent_at) return request;
  const tries = s.confirm_last_error ? ` (${s.confirm_attempts} failed rounds; last: ${s.confirm_last_error})` : '';
  return [...request, `  confirmation owed${tries}`];
}
