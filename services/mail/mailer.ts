import nodemailer from 'nodemailer';

export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Deterministic ids let receivers drop a duplicate sent after a crash. */
  messageId?: string;
  /** One-click unsubscribe URL (RFC 8058): sets List-Unsubscribe and List-Unsubscribe-Post. */
  unsubscribeUrl?: string;
  headers?: Record<string, string>;
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
  send(mail: OutgoingMail): Promise<SentMail>;
  close(): void;
}

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

export function createMailer(smtpUrl: string, opts: { from: string; maxConnections?: number }): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    maxMessages: 1000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(m) {
      try {
        const info = await transport.sendMail({
          from: opts.from,
          to: m.to,
          subject: oneLine(m.subject),
          html: m.html,
          text: m.text,
          messageId: m.messageId,
          list: m.unsubscribeUrl ? { unsubscribe: m.unsubscribeUrl } : undefined,
          headers: {
            ...(m.unsubscribeUrl ? { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {}),
            ...m.headers,
          },
        });
        return { messageId: info.messageId, response: info.response };
      } catch (e) {
        const err = e as { message: string; responseCode?: number; response?: string };
        throw new SmtpError(err.message, err.responseCode, err.response);
      }
    },
    close: () => transport.close(),
  };
}
