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

/**
 * A lost PostgreSQL or Redis connection, or a server still starting: a temporary condition, not a
 * bug. The api answers it with 503; a worker waits it out where giving up would cost a resend.
 */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001'].includes(
      e.code ?? '',
    ) || /Connection is closed|enableOfflineQueue|Connection terminated|connect ECONNREFUSED/.test(e.message ?? '')
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
