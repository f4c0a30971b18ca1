import { readFileSync } from 'node:fs';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Outcome } from '../delivery/channel.ts';
import { channelOutcome } from './outcome.ts';
import { createSmtpPool, SmtpError } from './smtp-pool.ts';

export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

/**
 * The SMTP transport every mail goes out through, digests and signup replies alike. A send
 * answers with its outcome (services/delivery/channel.ts), never with an SMTP error: the reply
 * has been read for what it is about (services/mail/outcome.ts).
 */
export interface Mailer {
  /** A one-off mail (confirmations), composed by nodemailer. */
  send(mail: OutgoingMail): Promise<Outcome>;
  /** A prebuilt RFC 5322 message (digests), sent as it is; `messageId` is the one it carries. */
  sendRaw(to: string, raw: string, messageId: string): Promise<Outcome>;
  /** Whether the SMTP server answers (a connection and EHLO). */
  verify(): Promise<boolean>;
  close(): void;
}

export interface MailerOptions {
  from: string;
  maxConnections?: number;
  maxMessages?: number;
  /** Messages per second across the pool; 0 for no limit. */
  ratePerSecond?: number;
  dkim?: { domainName: string; keySelector: string; privateKeyFile: string };
}

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

/** The envelope sender: the address inside MAIL_FROM. */
export const addressOf = (from: string) => /<([^>]+)>/.exec(from)?.[1] ?? from.trim();

/**
 * A send that failed, as an outcome: an SMTP failure for what its reply is about, with the reply
 * (or nodemailer's words when the server gave none); anything else (a message that could not be
 * built or signed) is worth another attempt.
 */
function notSent(err: unknown): Outcome {
  if (err instanceof SmtpError) return { kind: channelOutcome[err.outcome], reply: err.response ?? err.message };
  return { kind: 'retry-later', reply: err instanceof Error ? err.message : String(err) };
}

/**
 * One pool of SMTP sessions for everything the worker sends. Digests arrive built (`mime.ts`);
 * one-off mails are composed by nodemailer's MailComposer. Both go out through the same sessions,
 * so `SMTP_MAX_CONNECTIONS` and `SMTP_RATE_PER_SECOND` bound all of it, and both are DKIM-signed
 * when a key is configured.
 */
export function createMailer(smtpUrl: string, opts: MailerOptions): Mailer {
  const pool = createSmtpPool(smtpUrl, {
    maxConnections: opts.maxConnections ?? 5,
    maxMessages: opts.maxMessages ?? 1000,
    ratePerSecond: opts.ratePerSecond ?? 0,
    ...(opts.dkim
      ? {
          dkim: {
            domainName: opts.dkim.domainName,
            keySelector: opts.dkim.keySelector,
            privateKey: readFileSync(opts.dkim.privateKeyFile, 'utf8'),
          },
        }
      : {}),
  });
  const envelopeFrom = addressOf(opts.from);
  return {
    async send(m) {
      try {
        const node = new MailComposer({
          from: opts.from,
          to: m.to,
          subject: oneLine(m.subject),
          html: m.html,
          text: m.text,
        }).compile();
        const raw = await node.build();
        const { response } = await pool.send(envelopeFrom, m.to, raw);
        return { kind: 'sent', messageId: node.messageId(), reply: response };
      } catch (err) {
        return notSent(err);
      }
    },
    async sendRaw(to, raw, messageId) {
      try {
        const { response } = await pool.send(envelopeFrom, to, raw);
        return { kind: 'sent', messageId, reply: response };
      } catch (err) {
        return notSent(err);
      }
    },
    verify: () => pool.verify(),
    close: () => pool.close(),
  };
}
