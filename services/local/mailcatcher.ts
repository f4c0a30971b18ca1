import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface MailCatcherOptions {
  /** Where each message is kept, as `<id>.eml`; the mailbox page reads them from there. */
  dir: string;
  port?: number;
  /** Keep at most this many messages; the oldest go first. */
  keep?: number;
}

/** How many messages a mailbox keeps unless told otherwise. */
export const MAILBOX_KEEP = 2000;

/**
 * The local default when SMTP_URL is unset: a real SMTP server on loopback that accepts every
 * message and keeps it on disk, so a newcomer can read the mail Paperboy sends at /mailbox. It
 * holds nothing in memory, and the newest `keep` messages survive a restart.
 */
export class MailCatcher {
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  static async start({ dir, port = 0, keep = MAILBOX_KEEP }: MailCatcherOptions): Promise<MailCatcher> {
    mkdirSync(dir, { recursive: true });
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      size: 10 * 1024 * 1024,
      logger: false,
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          storeInMailbox(dir, Buffer.concat(chunks), keep);
          callback();
        });
      },
    });
    server.on('error', () => {}); // a client dropping its connection is not the catcher's failure
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new MailCatcher(server, (server.server.address() as AddressInfo).port);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let seq = 0;

/**
 * Writes one message into a mailbox directory (whole or not at all: written aside, then renamed),
 * and removes the oldest beyond `keep`. Names sort by arrival, across processes too.
 */
export function storeInMailbox(dir: string, raw: Buffer, keep = MAILBOX_KEEP): string {
  const id = `${Date.now().toString().padStart(14, '0')}-${process.pid}-${String(++seq).padStart(9, '0')}`;
  const tmp = path.join(dir, `.${id}.tmp`);
  writeFileSync(tmp, raw);
  renameSync(tmp, path.join(dir, `${id}.eml`));
  prune(dir, keep);
  return id;
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
