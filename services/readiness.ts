import type { Redis } from 'ioredis';
import type { Queues } from './core/queues.ts';
import type { Mailer } from './mail/mailer.ts';
import type { RelayBreaker, RelayState } from './mail/relay-breaker.ts';
import type { OpsService } from './ops/service.ts';

/** What readiness asks: PostgreSQL (through the ops read model), Redis, the SMTP server, the relay breaker. */
export interface Servers {
  ops: Pick<OpsService, 'ping'>;
  queues: Pick<Queues, 'redis'>;
  mailer: Pick<Mailer, 'verify'>;
  breaker: Pick<RelayBreaker, 'state'>;
}

export type Reachability = 'ok' | 'unreachable';

export const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(r, ms, 'timeout').unref())]);

/**
 * PINGs Redis on the producer connection. That connection refuses commands until it is connected
 * (no offline queue): a process that has just started waits for it rather than reporting Redis
 * unreachable.
 */
export async function pingRedis(redis: Redis): Promise<unknown> {
  while (redis.status === 'connecting' || redis.status === 'wait' || redis.status === 'connect') {
    await new Promise((r) => setTimeout(r, 50));
  }
  return redis.ping();
}

/**
 * Whether the servers Paperboy needs answer within `timeoutMs` each: PostgreSQL, Redis and the
 * SMTP server; and whether the SMTP relay takes mail (it may answer and still refuse the sender).
 * `/readyz` reports it over HTTP; `paperboy check` for processes without one (the worker's and
 * scheduler's container health checks).
 *
 * A relay that refuses leaves `ready` as it is: signups are still recorded and their mail stays
 * owed, so taking the api out of service would only lose them. It is reported beside the checks.
 */
export async function readiness(
  s: Servers,
  timeoutMs = 2000,
  /** Whether the SMTP server answers; by default a session is opened to ask. */
  smtpAnswers: () => Promise<boolean> = () => s.mailer.verify(),
) {
  const check = async (probe: () => Promise<unknown>): Promise<Reachability> => {
    try {
      const r = await within(timeoutMs, probe());
      return r === 'timeout' || r === false ? 'unreachable' : 'ok';
    } catch {
      return 'unreachable';
    }
  };
  const checks = {
    postgres: await check(() => s.ops.ping()),
    redis: await check(() => pingRedis(s.queues.redis)),
    smtp: await check(smtpAnswers),
  };
  const relay: RelayState | undefined =
    checks.redis === 'ok' ? await s.breaker.state().catch(() => undefined) : undefined;
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks, relay };
}

/** One line on a relay that refuses: its reply, since when, and when it is tried again. */
export function relayRefusal(relay: RelayState | undefined): string | undefined {
  if (relay?.status !== 'refusing') return undefined;
  return (
    `the SMTP relay refuses mail since ${relay.since.toISOString()} ("${relay.reply}"); sending is paused and ` +
    `tried again at ${relay.nextProbeAt.toISOString()}: check SMTP_URL, its credentials and MAIL_FROM`
  );
}
