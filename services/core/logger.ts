import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, name = 'paperboy'): Logger {
  return pino({ name, level, redact: ['*.password', '*.secret', '*.token', 'req.headers.authorization'] });
}
