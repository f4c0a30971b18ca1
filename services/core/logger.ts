import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Logs go to stderr, so a command's own output on stdout stays clean: JSON lines for log
 * collectors, readable lines when a person watches a terminal.
 */
export function createLogger(level: string, name = 'paperboy'): Logger {
  const options = { name, level, redact: ['*.password', '*.secret', '*.token', 'req.headers.authorization'] };
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
