import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  id: string;
  receivedAt: Date;
  from: string;
  to: string[];
  raw: Buffer;
}

export interface MailCatcherOptions {
  /** Keep each message as `<id>.eml` here, so the service's mailbox page can show it. */
  dir?: string;
  port?: number;
  /** Keep at most this many files in `dir`; the oldest go first. */
  keep?: number;
  /** Count messages but keep none (benchmarks). */
  discard?: boolean;
  /**
   * Keep every message in `messages` too, for `to()` and for `waitFor()` to find mail that came
   * before it was called (tests read them). Default: only when there is no `dir` to keep them in,
   * so a long-running local install holds at most `keep` messages, on disk.
   */
  keepInMemory?: boolean;
  /** Answers a recipient with an SMTP error (e.g. 550 or 451) instead of accepting it. */
  reject?: (recipient: string) => Refusal | undefined;
  /** Answers MAIL FROM with an error (a relay refusing the sender) instead of accepting it. */
  refuseSender?: (sender: string) => Refusal | undefined;
  /**
   * Answers the end of DATA with an error (content refused) instead of accepting the message; a
   * promise holds the reply until it settles (a server that stalls).
   */
  refuseMessage?: (recipients: string[], raw: Buffer) => Refusal | undefined | Promise<Refusal | undefined>;
}

/** An SMTP reply that refuses: its code and its text (which may start with an enhanced code). */
export interface Refusal {
  code: number;
  message: string;
}

const refusal = (r: Refusal) => Object.assign(new Error(r.message), { responseCode: r.code });

/**
 * A real SMTP server that accepts every message and keeps it: the local default when SMTP_URL is
 * unset (so a newcomer can read the mail Paperboy sends) and the sink the tests read.
 */
export class MailCatcher {
  /** Every message caught, when kept in memory (see `keepInMemory`); else always empty. */
  readonly messages: CaughtMail[] = [];
  /** Messages accepted, whether kept or not. */
  received = 0;
  /** SMTP sessions clients have opened (connections), whatever they sent. */
  sessions = 0;
  private readonly events = new EventEmitter();
  private seq = 0;

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    private readonly opts: MailCatcherOptions,
  ) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  static async start(opts: MailCatcherOptions = {}): Promise<MailCatcher> {
    if (opts.dir) mkdirSync(opts.dir, { recursive: true });
    let catcher: MailCatcher | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      size: 10 * 1024 * 1024,
      logger: false,
      onConnect(_session, callback) {
        if (catcher) catcher.sessions++;
        callback();
      },
      onMailFrom(address, _session, callback) {
        const refused = opts.refuseSender?.(address.address);
        callback(refused ? refusal(refused) : undefined);
      },
      onRcptTo(address, _session, callback) {
        const refused = opts.reject?.(address.address);
        callback(refused ? refusal(refused) : undefined);
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          const raw = Buffer.concat(chunks);
          const refused = await opts.refuseMessage?.(to, raw);
          if (refused) return callback(refusal(refused));
          catcher?.store({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to, raw });
          callback();
        });
      },
    });
    server.on('error', () => {}); // a client dropping its connection is not the catcher's failure
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = server.server.address() as AddressInfo;
    catcher = new MailCatcher(server, port, opts);
    return catcher;
  }

  private store(m: Omit<CaughtMail, 'id' | 'receivedAt'>) {
    this.received++;
    if (this.opts.discard) return;
    const receivedAt = new Date();
    const id = `${receivedAt.getTime().toString().padStart(14, '0')}-${process.pid}-${++this.seq}`;
    const mail = { ...m, id, receivedAt };
    if (this.opts.keepInMemory ?? !this.opts.dir) this.messages.push(mail);
    if (this.opts.dir) {
      const tmp = path.join(this.opts.dir, `.${id}.tmp`);
      writeFileSync(tmp, m.raw);
      renameSync(tmp, path.join(this.opts.dir, `${id}.eml`));
      prune(this.opts.dir, this.opts.keep ?? 2000);
    }
    this.events.emit('mail', mail);
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

  to(address: string): CaughtMail[] {
    return this.messages.filter((m) => m.to.includes(address));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function prune(dir: string, keep: number) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
  if (files.length <= keep) return;
  for (const f of files.sort().slice(0, files.length - keep)) {
    rmSync(path.join(dir, f), { force: true });
  }
}

export interface MailboxEntry {
  id: string;
  receivedAt: Date;
  from: string;
  to: string;
  subject: string;
}

/** The messages kept in a catcher's directory, newest first. */
export async function listMailbox(dir: string, limit = 200): Promise<MailboxEntry[]> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^[\w-]+\.eml$/.test(f));
  } catch {
    return [];
  }
  const newest = files.sort().reverse().slice(0, limit);
  return Promise.all(
    newest.map(async (f) => {
      const parsed = await simpleParser(readFileSync(path.join(dir, f)), { skipImageLinks: true });
      return {
        id: f.slice(0, -4),
        receivedAt: parsed.date ?? new Date(Number.parseInt(f, 10)),
        from: parsed.from?.text ?? '',
        to: [parsed.to ?? []]
          .flat()
          .map((a) => a.text)
          .join(', '),
        subject: parsed.subject ?? '(no subject)',
      };
    }),
  );
}

export async function readMailboxMessage(dir: string, id: string) {
  if (!/^[\w-]+$/.test(id)) return undefined;
  try {
    const raw = readFileSync(path.join(dir, `${id}.eml`));
    return { raw, parsed: await simpleParser(raw) };
  } catch {
    return undefined;
  }
}
