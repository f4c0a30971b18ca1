import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

export interface SentMail {
  messageId: string;
  response: string;
}

/** An SMTP failure with its reply code, so callers can tell temporary (4xx) from permanent (5xx). */
export class SmtpError extends Error {
  constructor(
    message: string,
    readonly responseCode: number | undefined,
    readonly response: string | undefined,
  ) {
    super(message);
  }

  get permanent(): boolean {
    return this.responseCode !== undefined && this.responseCode >= 500;
  }
}

export interface Mailer {
  /** A one-off mail (confirmations), composed by nodemailer. */
  send(mail: OutgoingMail): Promise<SentMail>;
  /** A prebuilt RFC 5322 message (digests), sent as it is. */
  sendRaw(to: string, raw: string, messageId: string): Promise<SentMail>;
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

export function createMailer(smtpUrl: string, opts: MailerOptions): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    maxMessages: opts.maxMessages ?? 1000,
    ...(opts.ratePerSecond ? { rateDelta: 1000, rateLimit: opts.ratePerSecond } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
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
  const deliver = async (message: Parameters<typeof transport.sendMail>[0]): Promise<SentMail> => {
    try {
      const info = await transport.sendMail(message);
      return { messageId: info.messageId, response: info.response };
    } catch (e) {
      const err = e as { message: string; responseCode?: number; response?: string };
      throw new SmtpError(err.message, err.responseCode, err.response);
    }
  };
  return {
    send: (m) => deliver({ from: opts.from, to: m.to, subject: oneLine(m.subject), html: m.html, text: m.text }),
    async sendRaw(to, raw, messageId) {
      const sent = await deliver({ envelope: { from: envelopeFrom, to: [to] }, raw });
      return { ...sent, messageId };
    },
    verify: () => transport.verify().catch(() => false),
    close: () => transport.close(),
  };
}
