import type { Outcome } from '../delivery/channel.ts';

/**
 * What a failed SMTP transaction says, and about what. A reply is a verdict on the recipient only
 * when it answers that recipient: RCPT TO, or DATA with an enhanced code about the mailbox (the
 * messages here have one recipient each). Failures of the session (connection, greeting, TLS,
 * AUTH) and of MAIL FROM are the relay's or the configuration's: every message would fail alike,
 * so nothing is concluded about any address and the mail stays owed.
 */
export type FailureOutcome =
  /** A temporary refusal of this message (4xx): try it again later. */
  | 'retry'
  /** The recipient's address does not work (RCPT 5.1.x/5.2.x, or a 5xx with no enhanced code): suppress it. */
  | 'address-gone'
  /** This message will not be taken as it is (content, size, policy): give it up, keep the address. */
  | 'message-refused'
  /** The relay or the way to it is broken (connection, AUTH, TLS, MAIL FROM, 421): retry, suspect the relay. */
  | 'relay-down';

/** The parts of a failed send that decide its outcome (nodemailer's error fields). */
export interface SmtpFailure {
  /** The command the reply answered: 'CONN', 'EHLO', 'AUTH PLAIN', 'MAIL FROM', 'RCPT TO', 'DATA'... */
  command?: string;
  /** nodemailer's error code: 'ECONNECTION', 'EAUTH', 'EENVELOPE', 'EMESSAGE', 'ETLS'... */
  code?: string;
  responseCode?: number;
  /** The reply as the server sent it, e.g. '550 5.1.1 <a@example.org>: user unknown'. */
  response?: string;
}

/** The RFC 3463 enhanced status code at the start of a reply's text, e.g. [5, 1, 1]. */
export function enhancedCode(response: string | undefined): [number, number, number] | undefined {
  const m = /^\d{3}[ -]([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(response?.trim() ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function classifyFailure(f: SmtpFailure): FailureOutcome {
  const command = (f.command ?? '').toUpperCase();
  const code = f.responseCode;
  // 421: the server is closing the session, whatever it was answering.
  if (code === 421) return 'relay-down';
  // The message is bigger than the server's SIZE announces: nodemailer stops before sending it.
  if (f.code === 'EMESSAGE' && command === 'MAIL FROM' && code === undefined) return 'message-refused';
  if (command === 'RCPT TO' || command === 'DATA') {
    if (code === undefined || code < 400) return 'relay-down';
    if (code < 500) return 'retry';
    const enhanced = enhancedCode(f.response);
    const aboutMailbox = enhanced && (enhanced[1] === 1 || enhanced[1] === 2);
    if (command === 'RCPT TO') return !enhanced || aboutMailbox ? 'address-gone' : 'message-refused';
    // DATA's reply to the command itself (before any content) or to the content.
    return aboutMailbox ? 'address-gone' : 'message-refused';
  }
  // The greeting, EHLO, STARTTLS, AUTH, MAIL FROM, a dropped or timed-out connection.
  return 'relay-down';
}

/** A failed SMTP transaction as the delivery engine counts it (services/delivery/channel.ts). */
export const channelOutcome = {
  retry: 'retry-later',
  'address-gone': 'address-gone',
  'message-refused': 'message-refused',
  'relay-down': 'channel-down',
} as const satisfies Record<FailureOutcome, Outcome['kind']>;
