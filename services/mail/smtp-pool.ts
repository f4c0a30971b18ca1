import type { Readable, Transform } from 'node:stream';
import DKIM from 'nodemailer/lib/dkim';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection, { type SMTPConnectionOptions } from 'nodemailer/lib/smtp-connection';
import { withFastDotStuffing } from './dot-stuffing.ts';
import { classifyFailure, type FailureOutcome, type SmtpFailure } from './outcome.ts';

/**
 * A pool of SMTP sessions for messages that are already built: nodemailer's SMTP client
 * (`SMTPConnection`) without the composing pipeline around it. A digest is built once by
 * `mime.ts`; handing it to nodemailer's transport still parsed and re-streamed it and cost about
 * three times the CPU per message of the SMTP exchange itself, on a machine where the worker's
 * CPU is the limit.
 */

/**
 * nodemailer's SMTP client, its DATA stream given the native dot-stuffing of `dot-stuffing.ts`.
 * The stream comes from an internal method of SMTPConnection; should a nodemailer release rename it,
 * the pool uses SMTPConnection as it is (`fastDotStuffing` then says false, and a test fails).
 */
type SendStreamFactory = (this: SMTPConnection, callback: unknown) => Transform;
const createSendStream = (SMTPConnection.prototype as unknown as { _createSendStream?: SendStreamFactory })
  ._createSendStream;

class Connection extends SMTPConnection {
  _createSendStream(callback: unknown): Transform {
    return withFastDotStuffing((createSendStream as SendStreamFactory).call(this, callback));
  }
}

export const fastDotStuffing = typeof createSendStream === 'function';
const SmtpClient = fastDotStuffing ? Connection : SMTPConnection;

export interface PoolOptions {
  maxConnections: number;
  /** Messages per session before it is closed and a fresh one opened. */
  maxMessages: number;
  /** Messages per second across the pool; 0 for no limit. */
  ratePerSecond: number;
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  connectionTimeout?: number;
  greetingTimeout?: number;
  socketTimeout?: number;
}

/** What the server said about a message it accepted. */
export interface Accepted {
  response: string;
}

/**
 * An SMTP failure with its reply code (undefined when the connection itself failed) and the
 * command that reply answered, which together say what failed: see mail/outcome.ts.
 */
export class SmtpError extends Error implements SmtpFailure {
  constructor(
    message: string,
    readonly responseCode: number | undefined,
    readonly response: string | undefined,
    readonly command?: string,
    readonly code?: string,
  ) {
    super(message);
  }

  get outcome(): FailureOutcome {
    return classifyFailure(this);
  }
}

interface Session {
  conn: SMTPConnection;
  messages: number;
  /** The server or the network ended it; never handed out again. */
  dead: boolean;
}

type NodemailerError = Error & { code?: string; responseCode?: number; response?: string; command?: string };

const asSmtpError = (e: unknown): SmtpError => {
  if (e instanceof SmtpError) return e;
  const err = e as NodemailerError;
  return new SmtpError(err.message ?? String(e), err.responseCode, err.response, err.command, err.code);
};

export function createSmtpPool(smtpUrl: string, opts: PoolOptions) {
  const { auth, ...url } = parseConnectionUrl(smtpUrl);
  const connectionOptions: SMTPConnectionOptions = {
    ...(url as SMTPConnectionOptions),
    connectionTimeout: opts.connectionTimeout ?? 10_000,
    greetingTimeout: opts.greetingTimeout ?? 10_000,
    socketTimeout: opts.socketTimeout ?? 30_000,
  };
  const signer = opts.dkim ? new DKIM(opts.dkim) : undefined;
  const idle: Session[] = [];
  const waiting: (() => void)[] = [];
  let open = 0;
  let closed = false;
  let nextSlot = 0;

  const forget = (s: Session) => {
    if (s.dead) return;
    s.dead = true;
    open--;
    const i = idle.indexOf(s);
    if (i >= 0) idle.splice(i, 1);
    // The slot it held is free: someone waiting may open a session of their own.
    waiting.shift()?.();
  };

  const connect = (): Promise<Session> =>
    new Promise((resolve, reject) => {
      const conn = new SmtpClient(connectionOptions);
      const session: Session = { conn, messages: 0, dead: false };
      let settled = false;
      const fail = (e: unknown) => {
        forget(session);
        conn.close();
        if (!settled) {
          settled = true;
          reject(asSmtpError(e));
        }
      };
      // An idle session the server hangs up on is dropped here; a session in use reports the
      // same error to the send callback as well.
      conn.on('error', fail);
      conn.once('end', () => forget(session));
      conn.connect((err) => {
        if (err) return fail(err);
        if (!auth || !conn.allowsAuth) {
          settled = true;
          return resolve(session);
        }
        conn.login(auth, (loginErr) => {
          if (loginErr) return fail(loginErr);
          settled = true;
          resolve(session);
        });
      });
    });

  async function acquire(): Promise<Session> {
    for (;;) {
      if (closed) throw new SmtpError('the SMTP pool is closed', undefined, undefined, 'API', 'ECLOSED');
      const s = idle.pop();
      if (s) return s;
      if (open < opts.maxConnections) {
        open++;
        return connect();
      }
      await new Promise<void>((r) => waiting.push(r));
    }
  }

  /**
   * Ends a session politely. Its slot stays taken until the connection has closed ('end' forgets
   * it), so a renewed session never overlaps the one it replaces: a relay that counts connections
   * sees at most maxConnections.
   */
  const retire = (s: Session) => s.conn.quit();

  function release(s: Session) {
    if (s.dead) return;
    if (closed || s.messages >= opts.maxMessages) {
      retire(s);
      return;
    }
    idle.push(s);
    waiting.shift()?.();
  }

  /** Spaces messages out to `ratePerSecond` across the pool. */
  async function throttle() {
    if (!opts.ratePerSecond) return;
    const now = Date.now();
    const slot = Math.max(now, nextSlot);
    nextSlot = slot + 1000 / opts.ratePerSecond;
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  }

  /** Sends over `s` and returns it to the pool, or drops it when the failure leaves it unusable. */
  const transmit = (s: Session, from: string, to: string, raw: string | Buffer) =>
    new Promise<Accepted>((resolve, reject) => {
      const message = signer ? signer.sign(raw) : raw;
      s.conn.send({ from, to: [to] }, message as string | Buffer | Readable, (err, info) => {
        s.messages++;
        if (!err) {
          release(s);
          return resolve({ response: info?.response ?? '' });
        }
        const e = err as NodemailerError;
        if ((e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && e.responseCode !== 421 && !s.dead) {
          // The server refused this message; the session itself is fine once reset.
          s.conn.reset((resetErr) => {
            if (resetErr) {
              forget(s);
              s.conn.close();
            } else release(s);
          });
        } else {
          forget(s);
          s.conn.close();
        }
        reject(asSmtpError(e));
      });
    });

  return {
    /** Sends one prebuilt message; resolves when the server has accepted it. */
    async send(from: string, to: string, raw: string | Buffer): Promise<Accepted> {
      const s = await acquire();
      await throttle();
      return transmit(s, from, to, raw);
    },

    /** Whether the server answers: a session of its own is opened (EHLO, login) and closed. */
    async verify(): Promise<boolean> {
      open++;
      try {
        retire(await connect());
        return true;
      } catch {
        return false;
      }
    },

    /** Sessions open now, in use or idle. */
    get connections() {
      return open;
    },

    close() {
      closed = true;
      for (const s of idle.splice(0)) retire(s);
      for (const wake of waiting.splice(0)) wake();
    },
  };
}

export type SmtpPool = ReturnType<typeof createSmtpPool>;
