/** Domain errors: the one Fastify error handler maps them to `{ error, message }` with their status. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class Invalid extends AppError {
  constructor(message: string, code = 'invalid_request') {
    super(400, code, message);
  }
}

export class NotFound extends AppError {
  constructor(message: string, code = 'not_found') {
    super(404, code, message);
  }
}

export class Conflict extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class TooManyRequests extends AppError {
  constructor(
    message: string,
    /** Seconds until the limit resets: sent as Retry-After. */
    readonly retryAfter: number,
  ) {
    super(429, 'rate_limited', message);
  }
}

/** Socket errors of a server that cannot be reached, or a connection to it that broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  // Name resolution: the server's host is not known right now (DNS down, a container not yet named).
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL's SQLSTATEs for a server that cannot serve this connection now: too many
 * connections, and the connection ended by the server (an administrator's pg_terminate_backend
 * or shutdown, a crash of another backend, a server starting up or shutting down). Class 08
 * (connection exception) is matched as a whole.
 */
const POSTGRES_CODES = new Set(['53300', '57P01', '57P02', '57P03']);

/** What pg, pg-pool and ioredis say, without a code, when the connection is gone or cannot be had. */
const MESSAGES = new RegExp(
  [
    'Connection terminated', // pg: the socket closed ("… unexpectedly", "… due to connection timeout")
    'terminating connection due to', // PostgreSQL's own words for 57P01/57P02, should the code be lost
    'Client has encountered a connection error and is not queryable', // pg: a client whose server went away
    'timeout exceeded when trying to connect', // pg-pool: no connection could be had in time
    'Connection is closed', // ioredis: commands in flight when the connection closed
    "Stream isn't writeable", // ioredis without an offline queue, while disconnected
    'enableOfflineQueue',
    'connect ECONNREFUSED',
  ].join('|'),
);

/**
 * A lost PostgreSQL or Redis connection, or a server still starting: a temporary condition, not a
 * bug. The api answers it with 503; a worker waits it out where giving up would cost a resend.
 * An error that wraps another (`cause`, or an AggregateError's `errors`) is judged by those too.
 */
export function isUnavailable(err: unknown): boolean {
  return unavailable(err, 0);
}

function unavailable(err: unknown, depth: number): boolean {
  if (err === null || typeof err !== 'object' || depth > 3) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (NETWORK_CODES.has(code) || POSTGRES_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  // ioredis: a command that outlived its retries while Redis was away.
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  return (
    unavailable(e.cause, depth + 1) || (Array.isArray(e.errors) && e.errors.some((x) => unavailable(x, depth + 1)))
  );
}

/**
 * Why this process cannot start or reach what it needs, in one sentence that ends with what to do
 * (a setting, a command). The CLI prints it as it is, without a stack trace, and exits 2.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
