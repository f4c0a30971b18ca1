import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError } from '../core/errors.ts';
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
}

function mapError(err: unknown): Mapped {
  if (err instanceof AppError) return { status: err.status, error: err.code, message: err.message };
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const where = first?.path.length ? `${first.path.join('.')}: ` : '';
    return { status: 400, error: 'invalid_request', message: `${where}${first?.message ?? 'invalid input'}` };
  }
  const fe = err as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, error: (fe.code ?? 'bad_request').toLowerCase(), message: fe.message };
  }
  return { status: 500, error: 'internal', message: 'Something went wrong on our side. Please try again later.' };
}

/** The one error handler: domain and validation errors become 4xx; anything else a 500 without detail. */
export function errorHandler(pages: Pages) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const m = mapError(err);
    if (m.status >= 500) request.log.error({ err }, 'request failed');
    reply.code(m.status);
    if (request.routeOptions.config?.page) {
      return reply.type('text/html; charset=utf-8').send(
        pages.render('message', m.status >= 500 ? 'Error' : 'Sorry', {
          heading: m.status >= 500 ? 'Something went wrong' : 'That did not work',
          paragraphs: [m.message],
          isError: true,
        }),
      );
    }
    return reply.send({ error: m.error, message: m.message });
  };
}
