import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Accepted {
  to: string;
  messageId: string;
  /** The whole message, when the sink was asked to keep them. */
  raw?: Buffer;
}

/**
 * A real SMTP server for fault scenarios: accepts and discards, remembering only who got which
 * Message-ID, and misbehaves on request: temporary failures (421 or 451) for a share of
 * transactions, 550 for chosen recipients, a refused sender or login (as after a credential
 * rotation), content refused at DATA for chosen recipients, or no server at all (stopped and
 * started again on the same port). It offers AUTH (without TLS) and accepts any login unless told
 * to refuse; clients without credentials skip it.
 */
export class FaultySink {
  accepted: Accepted[] = [];
  /** Share of transactions answered with a temporary failure at MAIL FROM. */
  tempFailRate = 0;
  tempFailures = 0;
  /** Recipients answered with 550 at RCPT TO. */
  permanent = new Set<string>();
  refused = 0;
  /** Keep whole messages (for scenarios that read them), not just who got which Message-ID. */
  keepRaw = false;
  /** The reply to every MAIL FROM while the relay refuses the sender. */
  senderRefusal: { code: number; message: string } | undefined;
  /** The reply to every AUTH while the relay refuses the login. */
  authRefusal: { code: number; message: string } | undefined;
  /** MAIL FROM and AUTH commands refused so far. */
  relayRefusals = 0;
  /** Recipients whose messages are refused at the end of DATA (554 5.7.1, content). */
  contentRefused = new Set<string>();
  private server: SMTPServer | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<FaultySink> {
    const probe = new SMTPServer({ logger: false });
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const { port } = probe.server.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const sink = new FaultySink(port);
    await sink.resume();
    return sink;
  }

  reset() {
    this.accepted = [];
    this.tempFailRate = 0;
    this.tempFailures = 0;
    this.permanent = new Set();
    this.refused = 0;
    this.keepRaw = false;
    this.senderRefusal = undefined;
    this.authRefusal = undefined;
    this.relayRefusals = 0;
    this.contentRefused = new Set();
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    const sink = this;
    const fail = (code: number, message: string) =>
      Object.assign(new Error(message), { responseCode: code }) as Error & { responseCode: number };
    const server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      closeTimeout: 100,
      onAuth(auth, _session, callback) {
        if (sink.authRefusal) {
          sink.relayRefusals++;
          return callback(fail(sink.authRefusal.code, sink.authRefusal.message));
        }
        callback(null, { user: auth.username });
      },
      onMailFrom(_address, _session, callback) {
        if (sink.senderRefusal) {
          sink.relayRefusals++;
          return callback(fail(sink.senderRefusal.code, sink.senderRefusal.message));
        }
        if (sink.tempFailRate > 0 && Math.random() < sink.tempFailRate) {
          sink.tempFailures++;
          return callback(
            Math.random() < 0.5
              ? fail(421, '4.3.2 Service shutting down, try again later')
              : fail(451, '4.3.0 Temporary local problem, try again later'),
          );
        }
        callback();
      },
      onRcptTo(address, _session, callback) {
        if (sink.permanent.has(address.address)) {
          sink.refused++;
          return callback(fail(550, '5.1.1 No such user here'));
        }
        callback();
      },
      onData(stream, session, callback) {
        let head = '';
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => {
          if (head.length < 8192) head += c.toString('latin1');
          if (sink.keepRaw) chunks.push(c);
        });
        stream.on('end', () => {
          if (session.envelope.rcptTo.some((r) => sink.contentRefused.has(r.address))) {
            return callback(fail(554, '5.7.1 Message content rejected'));
          }
          const messageId = /^Message-ID:\s*(\S+)/im.exec(head)?.[1] ?? '';
          const raw = sink.keepRaw ? Buffer.concat(chunks) : undefined;
          for (const r of session.envelope.rcptTo) sink.accepted.push({ to: r.address, messageId, raw });
          callback();
        });
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and drops every open connection, as a crashed mail server would. */
  async halt(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
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
