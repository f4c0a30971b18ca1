import type { Services } from './compose.ts';

export type Reachability = 'ok' | 'unreachable';

const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(r, ms, 'timeout').unref())]);

/**
 * Whether the servers Paperboy needs answer within two seconds each: PostgreSQL, Redis and the
 * SMTP server. `/readyz` reports it over HTTP; `paperboy check` for processes without one
 * (the worker's and scheduler's container health checks).
 */
export async function readiness(s: Pick<Services, 'db' | 'queues' | 'mailer'>) {
  const check = async (probe: () => Promise<unknown>): Promise<Reachability> => {
    try {
      const r = await within(2000, probe());
      return r === 'timeout' || r === false ? 'unreachable' : 'ok';
    } catch {
      return 'unreachable';
    }
  };
  const checks = {
    postgres: await check(() => s.db.query('SELECT 1')),
    redis: await check(() => s.queues.redis.ping()),
    smtp: await check(() => s.mailer.verify()),
  };
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}
