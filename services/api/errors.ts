import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { AppError, isUnavailable, TooManyRequests } from '../core/errors.ts';
import type { Pages } from './pages.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors on this route render an HTML page rather than JSON. */
    page?: boolean;
  }
}

interface Mapped {
  status: number;
  error: string;
  message: string;
  retryAfter?: number;
}

const CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

const where = (path: PropertyKey[] | string) => {
  const p = typeof path === 'string' ? path.replace(/^\//, '').replaceAll('/', '.') : path.join('.');
  return p ? `${p}: ` : '';
};

function mapError(err: unknown): Mapped {
  if (err instanceof TooManyRequests) {
    return { status: 429, error: err.code, message: err.message, retryAfter: err.retryAfter };
  }
  if (err instanceof AppError) return { status: err.status, error: err.code, message: err.message };
  if (err instanceof ZodError) {
    const first = err.issues[0];
    return {
      status: 400,
      error: 'invalid_request',
      message: `${where(first?.path ?? [])}${first?.message ?? 'invalid input'}`,
    };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    return {
      status: 400,
      error: 'invalid_request',
      message: `${where(first?.instancePath ?? '')}${first?.message ?? 'invalid input'}`,
    };
  }
  if (isUnavailable(err)) {
    return {
      status: 503,
      error: 'unavailable',
      message: 'Paperboy cannot reach its database or queue right now. Please try again in a minute.',
      retryAfter: 30,
    };
  }
  const fe = err as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, error: CODES[fe.statusCode] ?? 'bad_request', message: fe.message };
  }
  return { status: 500, error: 'internal', message: 'Something went wrong on our side. Please try again later.' };
}

/** The one error handler: domain and validation errors become 4xx; anything else a 500 without detail. */
export function errorHandler(pages: Pages) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const m = mapError(err);
    if (m.status === 500) request.log.error({ err }, 'request failed');
    if (m.status === 503) request.log.warn({ err: (err as Error).message }, 'dependency unavailable');
    reply.code(m.status);
    if (m.retryAfter) reply.header('retry-after', String(m.retryAfter));
    if (request.routeOptions.config?.page) {
      return reply.type('text/html; charset=utf-8').send(
        pages.render('message', m.status >= 500 ? 'Error' : 'Sorry', {
          heading: m.status >= 500 ? 'Something went wrong' : 'That did not work',
          paragraphs: [m.message],
          isError: true,
        }),
      );
    }
    return reply.type('application/json; charset=utf-8').send({ error: m.error, message: m.message });
  };
}
