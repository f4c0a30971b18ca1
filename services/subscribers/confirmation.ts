import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { scheduleText } from '../digests/renderer.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import type { Links } from './links.ts';
import { createSubscriberRepository } from './repository.ts';

/** Sends the double opt-in mail for a pending subscriber; does nothing once they are not pending. */
export function createConfirmationMailer(deps: {
  db: Db;
  mailer: Mailer;
  templates: EmailTemplates;
  links: Links;
  clock: Clock;
  confirmTtlHours: number;
}) {
  const repo = createSubscriberRepository(deps.db);
  return {
    async send(subscriberId: number): Promise<boolean> {
      const s = await repo.findById(subscriberId);
      if (s?.status !== 'pending') return false;
      const now = deps.clock.now();
      const confirmUrl = deps.links.confirm(s.id, now);
      const { html, text } = await deps.templates.render('confirm', {
        email: s.email,
        confirmUrl,
        scheduleText: scheduleText({
          frequency: s.frequency,
          sendHour: s.send_hour,
          sendWeekday: s.send_weekday,
          timezone: s.timezone,
        }),
        ttlText: durationText(deps.confirmTtlHours),
      });
      await deps.mailer.send({ to: s.email, subject: 'Confirm your Paperboy subscription', html, text });
      await repo.markConfirmationSent(s.id, now);
      return true;
    },
  };
}

function durationText(hours: number): string {
  const [n, unit] = hours % 24 === 0 ? [hours / 24, 'day'] : [hours, 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
