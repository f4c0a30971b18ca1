import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Never written to a log: secrets in any object one level down, and the Authorization header
 * (Basic credentials of the admin pages, the webhook's bearer secret) wherever a request's headers
 * are logged.
 */
const REDACT_PATHS = ['*.password', '*.secret', '*.token', 'headers.authorization', '*.headers.authorization'];

/**
 * Link tokens are capabilities: whoever holds one can unsubscribe or change that subscriber. A log
 * line says where a request went, never with the token that opens it.
 */
export const redactUrl = (url: string) =>
  url.replace(/\/(u|manage|confirm|d|feed|api\/subscription)\/[^/?#]+/g, '/$1/[token]');

/** What a request log line shows: method and path without tokens; no client address (Paperboy keeps none). */
const serializers = {
  req: (req: { method?: string; url?: string }) => ({ method: req.method, url: redactUrl(req.url ?? '') }),
};

/**
 * Logs go to stderr, so a command's own output on stdout stays clean: JSON lines for log
 * collectors, readable lines when a person watches a terminal. `destination` replaces stderr
 * (the tests read what was logged).
 */
export function createLogger(level: string, name = 'paperboy', destination?: pino.DestinationStream): Logger {
  const options = { name, level, redact: REDACT_PATHS, serializers };
  if (destination) return pino(options, destination);
  if (process.stderr.isTTY) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss' },
      },
    });
  }
  return pino(options, pino.destination({ dest: 2, sync: false }));
}
