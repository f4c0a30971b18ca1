import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { storeInMailbox } from '../../services/local/mailcatcher.ts';

/** An SMTP reply that refuses: its code and its text (which may start with an enhanced code). */
export interface Refusal {
  code: number;
  message: string;
}

/** A message the sink accepted, whole. */
export interface CaughtMail {
  from: string;
  to: string[];
  raw: Buffer;
}

/** One recipient's copy of an accepted message: who got which Message-ID. */
export interface Accepted {
  to: string;
  messageId: string;
}

/**
 * How the sink misbehaves: each hook, when set, may answer its SMTP command with a refusal
 * instead of accepting it. They can be set and cleared while clients are connected.
 */
export interface Faults {
  /** Answers AUTH (a relay refusing the login, as after a credential rotation). */
  refuseLogin?: (username: string) => Refusal | undefined;
  /** Answers MAIL FROM (a relay refusing the sender, or a temporary failure of the transaction). */
  refuseSender?: (sender: string) => Refusal | undefined;
  /** Answers RCPT TO (550 for an address gone, 451 for try later). */
  reject?: (recipient: string) => Refusal | undefined;
  /** Answers the end of DATA (content refused); a promise holds the reply until it settles (a server that stalls). */
  refuseMessage?: (recipients: string[], raw: Buffer) => Refusal | undefined | Promise<Refusal | undefined>;
}

export interface SinkOptions extends Faults {
  port?: number;
  /**
   * Keep every accepted message whole in `messages` (default). Off, only `accepted` (who got
   * which Message-ID) is kept: for runs of many thousands of messages.
   */
  keepMessages?: boolean;
  /** Also store each message in this directory as the local mail catcher does, for /mailbox. */
  mailbox?: string;
}

/** Replies the fault scenarios use. */
export const REPLIES = {
  noSuchUser: { code: 550, message: '5.1.1 No such user here' },
  contentRejected: { code: 554, message: '5.7.1 Message content rejected' },
  shuttingDown: { code: 421, message: '4.3.2 Service shutting down, try again later' },
  tryLater: { code: 451, message: '4.3.0 Temporary local problem, try again later' },
} satisfies Record<string, Refusal>;

/** A MAIL FROM hook that fails a share of transactions with 421 or 451, at random. */
export const temporaryFailures =
  (share: number): NonNullable<Faults['refuseSender']> =>
  () =>
    Math.random() < share ? (Math.random() < 0.5 ? REPLIES.shuttingDown : REPLIES.tryLater) : undefined;

const refusal = (r: Refusal) => Object.assign(new Error(r.message), { responseCode: r.code });

/**
 * The SMTP server every test sends to: a real server on loopback that accepts mail and keeps it
 * in memory for the test to read (`messages`, `to`, `waitFor`), counts sessions and commands, and
 * misbehaves on request (`Faults`): refused logins, senders, recipients or content, temporary
 * failures, or no server at all (`halt`, then `resume` on the same port). It offers AUTH without
 * TLS and takes any login unless told otherwise; clients without credentials skip it.
 */
export class SmtpSink implements Faults {
  refuseLogin: Faults['refuseLogin'];
  refuseSender: Faults['refuseSender'];
  reject: Faults['reject'];
  refuseMessage: Faults['refuseMessage'];
  /** Whole messages, while `keepMessages` is on. */
  messages: CaughtMail[] = [];
  keepMessages = true;
  /** Every recipient of every accepted message, in order. */
  accepted: Accepted[] = [];
  /** Messages accepted. */
  received = 0;
  /** SMTP sessions clients have opened, whatever they sent; those open now, and the most at once. */
  sessions = 0;
  openSessions = 0;
  peakSessions = 0;
  /** Commands refused by a fault, by command. */
  refused = { login: 0, sender: 0, recipient: 0, message: 0 };
  private readonly events = new EventEmitter();
  private server: SMTPServer | undefined;

  private constructor(
    readonly port: number,
    private readonly opts: SinkOptions,
  ) {
    this.reset();
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  static async start(opts: SinkOptions = {}): Promise<SmtpSink> {
    let port = opts.port ?? 0;
    if (!port) {
      // A port of its own that stays the same across halt and resume.
      const probe = new SMTPServer({ logger: false });
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
      port = (probe.server.address() as AddressInfo).port;
      await new Promise<void>((r) => probe.close(() => r()));
    }
    if (opts.mailbox) mkdirSync(opts.mailbox, { recursive: true });
    const sink = new SmtpSink(port, opts);
    await sink.resume();
    return sink;
  }

  /** Forgets what was caught and counted, and the faults set since it started: a fresh sink on the same port. */
  reset() {
    this.messages = [];
    this.accepted = [];
    this.received = 0;
    this.sessions = 0;
    this.peakSessions = this.openSessions;
    this.refused = { login: 0, sender: 0, recipient: 0, message: 0 };
    this.keepMessages = this.opts.keepMessages ?? true;
    this.refuseLogin = this.opts.refuseLogin;
    this.refuseSender = this.opts.refuseSender;
    this.reject = this.opts.reject;
    this.refuseMessage = this.opts.refuseMessage;
  }

  /** Listens (again) on its port. */
  async resume(): Promise<void> {
    const sink = this;
    const server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      closeTimeout: 100,
      onConnect(_session, callback) {
        sink.sessions++;
        sink.openSessions++;
        sink.peakSessions = Math.max(sink.peakSessions, sink.openSessions);
        callback();
      },
      onClose() {
        sink.openSessions--;
      },
      onAuth(auth, _session, callback) {
        const refused = sink.refuseLogin?.(auth.username ?? '');
        if (refused) {
          sink.refused.login++;
          return callback(refusal(refused));
        }
        callback(null, { user: auth.username });
      },
      onMailFrom(address, _session, callback) {
        const refused = sink.refuseSender?.(address.address);
        if (refused) sink.refused.sender++;
        callback(refused ? refusal(refused) : undefined);
      },
      onRcptTo(address, _session, callback) {
        const refused = sink.reject?.(address.address);
        if (refused) sink.refused.recipient++;
        callback(refused ? refusal(refused) : undefined);
      },
      onData(stream, session, callback) {
        // The whole message only when someone reads it; else just enough for its Message-ID.
        const whole = sink.keepMessages || sink.refuseMessage !== undefined || sink.opts.mailbox !== undefined;
        let head = '';
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => {
          if (head.length < 8192) head += c.toString('latin1');
          if (whole) chunks.push(c);
        });
        stream.on('end', async () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          const raw = Buffer.concat(chunks);
          const refused = await sink.refuseMessage?.(to, raw);
          if (refused) {
            sink.refused.message++;
            return callback(refusal(refused));
          }
          sink.accept(session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to, head, raw);
          callback();
        });
      },
    });
    server.on('error', () => {}); // a client dropping its connection is not the sink's failure
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private accept(from: string, to: string[], head: string, raw: Buffer) {
    this.received++;
    // A copy, not a slice: a slice would keep the whole head (up to a 64 KB chunk) alive with it,
    // for every message of a long run.
    const messageId = Buffer.from(/^Message-ID:\s*(\S+)/im.exec(head)?.[1] ?? '', 'latin1').toString('latin1');
    for (const r of to) this.accepted.push({ to: r, messageId });
    if (this.opts.mailbox) storeInMailbox(this.opts.mailbox, raw);
    if (!this.keepMessages) return;
    const mail = { from, to, raw };
    this.messages.push(mail);
    this.events.emit('mail', mail);
  }

  /** Stops listening and drops every open connection, as a crashed mail server would. */
  async halt(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  stop(): Promise<void> {
    return this.halt();
  }

  /** Resolves with the first message (already caught or yet to come) that matches. */
  waitFor(match: (m: CaughtMail) => boolean, timeoutMs = 60_000): Promise<CaughtMail> {
    const found = this.messages.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onMail = (m: CaughtMail) => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.events.off('mail', onMail);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.events.off('mail', onMail);
        reject(new Error(`no matching mail within ${timeoutMs} ms (${this.messages.length} caught)`));
      }, timeoutMs);
      this.events.on('mail', onMail);
    });
  }

  /** The whole messages sent to `address`, in the order they came. */
  to(address: string): CaughtMail[] {
    return this.messages.filter((m) => m.to.includes(address));
  }

  /** Messages per recipient, and whether every repeat carried the same Message-ID. */
  tally(recipients: Iterable<string>) {
    const byRecipient = new Map<string, Set<string>>();
    const counts = new Map<string, number>();
    for (const a of this.accepted) {
      counts.set(a.to, (counts.get(a.to) ?? 0) + 1);
      const ids = byRecipient.get(a.to) ?? new Set<string>();
      ids.add(a.messageId);
      byRecipient.set(a.to, ids);
    }
    let missing = 0;
    let duplicates = 0;
    let duplicatesWithNewId = 0;
    for (const r of recipients) {
      const n = counts.get(r) ?? 0;
      if (n === 0) missing++;
      if (n > 1) duplicates += n - 1;
      if ((byRecipient.get(r)?.size ?? 0) > 1) duplicatesWithNewId++;
    }
    return { missing, duplicates, duplicatesWithNewId, accepted: this.accepted.length };
  }
}
