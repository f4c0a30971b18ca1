import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import { scheduleText } from '../digests/renderer.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import type { Links } from './links.ts';
import { createSubscriberRepository } from './repository.ts';

export type SignupMailOutcome = 'confirmation' | 'already-subscribed' | 'suppressed' | 'none';

/**
 * The reply to a signup, decided when it is sent: a pending address gets the double opt-in link,
 * an active one a reminder with its preferences link (not a second subscription), an address
 * that bounced before gets nothing.
 */
export function createSignupMailer(deps: {
  db: Db;
  mailer: Mailer;
  templates: EmailTemplates;
  links: Links;
  clock: Clock;
  log: Logger;
  confirmTtlHours: number;
}) {
  const repo = createSubscriberRepository(deps.db);
  return {
    async send(subscriberId: number): Promise<SignupMailOutcome> {
      const s = await repo.findById(subscriberId);
      if (!s || (s.status !== 'pending' && s.status !== 'active')) return 'none';
      if ((await repo.suppressionOf(s.email)) === 'bounced') {
        deps.log.info({ subscriberId }, 'signup mail not sent: the address bounced before');
        return 'suppressed';
      }
      const now = deps.clock.now();
      const common = {
        email: s.email,
        manageUrl: deps.links.manage(s.id),
        scheduleText: scheduleText({
          frequency: s.frequency,
          sendHour: s.send_hour,
          sendWeekday: s.send_weekday,
          timezone: s.timezone,
        }),
      };
      if (s.status === 'pending') {
        const { html, text } = await deps.templates.render('confirm', {
          ...common,
          confirmUrl: deps.links.confirm(s.id, now),
          ttlText: durationText(deps.confirmTtlHours),
        });
        await deps.mailer.send({ to: s.email, subject: 'Confirm your Paperboy subscription', html, text });
        await repo.markSignupMailSent(s.id, now);
        return 'confirmation';
      }
      const { html, text } = await deps.templates.render('already-subscribed', common);
      await deps.mailer.send({ to: s.email, subject: 'You are already subscribed to Paperboy', html, text });
      return 'already-subscribed';
    },
  };
}

function durationText(hours: number): string {
  const [n, unit] = hours % 24 === 0 ? [hours / 24, 'day'] : [hours, 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
