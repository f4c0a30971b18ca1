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
