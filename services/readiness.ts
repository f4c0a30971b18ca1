import type { Services } from './compose.ts';

export type Reachability = 'ok' | 'unreachable';

const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(r, ms, 'timeout').unref())]);

/**
 * Whether the servers Paperboy needs answer within `timeoutMs` each: PostgreSQL, Redis and the
 * SMTP server. `/readyz` reports it over HTTP; `paperboy check` for processes without one
 * (the worker's and scheduler's container health checks).
 */
export async function readiness(s: Pick<Services, 'db' | 'queues' | 'mailer'>, timeoutMs = 2000) {
  const check = async (probe: () => Promise<unknown>): Promise<Reachability> => {
    try {
      const r = await within(timeoutMs, probe());
      return r === 'timeout' || r === false ? 'unreachable' : 'ok';
    } catch {
      return 'unreachable';
    }
  };
  const checks = {
    postgres: await check(() => s.db.query('SELECT 1')),
    redis: await check(async () => {
      // The producer connection refuses commands until it is connected (no offline queue): a
      // process that has just started waits for it rather than reporting Redis unreachable.
      const redis = s.queues.redis;
      while (redis.status === 'connecting' || redis.status === 'wait' || redis.status === 'connect') {
        await new Promise((r) => setTimeout(r, 50));
      }
      return redis.ping();
    }),
    smtp: await check(() => s.mailer.verify()),
  };
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}
