import type { Channel } from '../delivery/channel.ts';
import { addressOf, type Mailer } from '../mail/mailer.ts';
import { createMimeWriter, formatAddress } from '../mail/mime.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import type { Links } from '../subscribers/links.ts';
import { type DigestRecipient, renderDigest, renderNothingNew } from './renderer.ts';
import type { DeliveryKind, DigestDelivery } from './store.ts';

export interface EmailChannelOptions {
  mailer: Mailer;
  templates: EmailTemplates;
  links: Links;
  /** The From header, e.g. "Paperboy <digest@example.org>". */
  from: string;
  replyTo?: string;
  /** Adds a mailto: to List-Unsubscribe. */
  unsubscribeMailto?: string;
  feedbackId?: string;
}

/** A digest as the mail shows it to its reader, with their links signed at `now`. */
export function digestRecipient(d: DigestDelivery, links: Links, now: Date): DigestRecipient {
  return {
    email: d.email,
    digestDate: d.digestDate,
    frequency: d.frequency,
    sendHour: d.sendHour,
    sendWeekday: d.sendWeekday,
    timezone: d.timezone,
    papers: d.papers,
    siteUrl: links.site,
    unsubscribeUrl: links.unsubscribe(d.subscriberId),
    manageUrl: links.manage({ id: d.subscriberId, token_epoch: d.tokenEpoch }, now),
    viewUrl: links.viewDigest(d.id, d.tokenEpoch),
    votesUrl: links.votes(d.id, d.tokenEpoch),
  };
}

/** Message-ID fixed per (subscriber, digest day): a resend after a crash carries the same id. */
export const digestMessageId = (
  subscriberId: number,
  digestDate: string,
  domain: string,
  kind: DeliveryKind = 'digest',
) => `<${kind === 'digest' ? 'digest' : 'nothing-new'}.${digestDate}.${subscriberId}@${domain}>`;

export const mailDomain = (from: string) => addressOf(from).split('@')[1] ?? 'localhost';

/**
 * The email channel for digests (and for the note of a day with nothing new): renders each one (templates compiled once, filled per reader),
 * writes its MIME message around the headers every digest shares, and sends it through the SMTP
 * transport (services/mail/), whose reply comes back as the outcome the delivery engine settles.
 */
export function createEmailChannel(o: EmailChannelOptions): Channel<DigestDelivery> {
  const domain = mailDomain(o.from);
  const fromAddress = addressOf(o.from);
  const fromName = o.from.includes('<') ? o.from.slice(0, o.from.indexOf('<')).trim().replace(/^"|"$/g, '') : undefined;
  // Headers every digest shares, written once.
  const writeMessage = createMimeWriter([
    ['From', formatAddress(fromName, fromAddress)],
    ...(o.replyTo ? [['Reply-To', o.replyTo] as [string, string]] : []),
    ['List-Id', `Paperboy digest <digest.${domain}>`],
    ...(o.feedbackId ? [['Feedback-ID', o.feedbackId] as [string, string]] : []),
  ]);
  const mailto = o.unsubscribeMailto ? `, <mailto:${o.unsubscribeMailto}?subject=unsubscribe>` : '';

  return {
    async send(d, at) {
      const recipient = digestRecipient(d, o.links, at);
      // A day with nothing new, for a reader who asked to be told: the one-line note, same headers.
      const { subject, html, text } =
        d.kind === 'nothing_new'
          ? await renderNothingNew(o.templates, { ...recipient, hasTopics: d.hasTopics, nextDigestAt: d.nextSendAt })
          : await renderDigest(o.templates, recipient);
      const messageId = digestMessageId(d.subscriberId, d.digestDate, domain, d.kind);
      const raw = writeMessage({
        to: d.email,
        subject,
        text,
        html,
        messageId,
        date: new Date(),
        headers: [
          ['List-Unsubscribe', `<${recipient.unsubscribeUrl}>${mailto}`],
          ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
        ],
      });
      return o.mailer.sendRaw(d.email, raw, messageId);
    },
  };
}
