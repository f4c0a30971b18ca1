import type { Channel, Outcome } from '../../services/delivery/channel.ts';

/** What the channel answers for one message: an outcome, later (held), or undefined to take it. */
export type Answer = Outcome | undefined | Promise<Outcome | undefined>;

/**
 * A delivery channel that carries messages to an inbox in this process: the delivery engine over
 * something other than SMTP. Each message taken is kept in `inbox` with its message id; `answer`
 * decides what the channel says instead of taking one (a refusal, a failure, or a reply it holds
 * back until the test gives it).
 */
export class InboxChannel<M extends { id: number }> implements Channel<M> {
  readonly inbox: { message: M; messageId: string; at: Date }[] = [];
  /** Every message handed to the channel, taken or not, in order. */
  readonly tried: M[] = [];

  constructor(public answer: (message: M) => Answer = () => undefined) {}

  async send(message: M, at: Date): Promise<Outcome> {
    this.tried.push(message);
    const answered = await this.answer(message);
    if (answered && answered.kind !== 'sent') return answered;
    const messageId = `<inbox.${message.id}@paperboy.test>`;
    this.inbox.push({ message, messageId, at });
    return { kind: 'sent', messageId, reply: `stored as ${this.inbox.length}` };
  }

  /** Messages taken for `id`. */
  taken(id: number) {
    return this.inbox.filter((m) => m.message.id === id);
  }
}
