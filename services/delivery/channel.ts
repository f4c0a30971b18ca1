/**
 * What the delivery engine asks of a channel, and what a channel answers. The engine claims,
 * fences, records, retries and settles; a channel turns one message into an outcome, whatever
 * carries it (a digest by email: rendering, MIME and SMTP, services/digests/email-channel.ts).
 */

/** What became of one message, with the reply that says so (the server's, or the error's). */
export type Outcome =
  /** Taken for delivery: `messageId` names it, so a resend after a crash can be recognised. */
  | { kind: 'sent'; messageId: string; reply: string }
  /** Refused for now (greylisting, a full mailbox, a timeout): try this message again later. */
  | { kind: 'retry-later'; reply: string }
  /** The recipient's address does not work: give the message up and send the address nothing more. */
  | { kind: 'address-gone'; reply: string }
  /** This message will not be taken as it is (content, size, policy): give it up, keep the address. */
  | { kind: 'message-refused'; reply: string }
  /**
   * The channel itself fails (its relay refuses the sender or the login, the connection drops):
   * nothing is known about this message or its address, and every other message would fail alike.
   */
  | { kind: 'channel-down'; reply: string };

export type OutcomeKind = Outcome['kind'];

/** One way out for messages of type `M`. */
export interface Channel<M> {
  /**
   * Sends one message; `at` is the time its links are signed at. A refusal is an outcome, not an
   * error: what throws is a fault of the caller's or the channel's own (a template that does not
   * render), which the engine does not settle.
   */
  send(message: M, at: Date): Promise<Outcome>;
}

/** What a sender may do now: send as usual, send one message to probe the channel, or wait. */
export type Gate = { kind: 'send' } | { kind: 'probe' } | { kind: 'wait'; until: Date; reply: string };

/**
 * A circuit breaker over a channel, shared by every process: opened by messages that fail the
 * channel's way, closed by the first probe that gets through (services/mail/relay-breaker.ts).
 */
export interface ChannelBreaker {
  /** May a sender send now? One call per batch. */
  gate(): Promise<Gate>;
  /** The channel failed again: (re)open the breaker; returns when the next probe may go. */
  trip(reply: string): Promise<Date>;
  /** The channel took a message: close the breaker. True when it had been open. */
  reset(): Promise<boolean>;
}
