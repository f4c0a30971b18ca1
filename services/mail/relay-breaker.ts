import type { Redis } from 'ioredis';
import type { Gate } from '../delivery/channel.ts';

/** What every process knows about the SMTP relay: accepting, or refusing since when and with what. */
export type RelayState =
  | { status: 'accepting' }
  | {
      status: 'refusing';
      /** The relay's last reply, e.g. '553 5.7.1 Sender address rejected'. */
      reply: string;
      since: Date;
      /** When the next probe may go: sending waits until then. */
      nextProbeAt: Date;
    };

// One Redis round trip decides, for every process at once, who probes: the first caller past the
// probe time moves it on by one interval and probes; the others wait for the new time.
const GATE = `
local probe_at = redis.call('HGET', KEYS[1], 'probe_at')
if not probe_at then return {'send'} end
if tonumber(probe_at) <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'probe_at', tonumber(ARGV[1]) + tonumber(ARGV[2]))
  return {'probe'}
end
return {'wait', probe_at, redis.call('HGET', KEYS[1], 'reply') or ''}
`;

/**
 * A circuit breaker for the SMTP relay, shared by every process through Redis: the delivery
 * engine's ChannelBreaker for the email channel. When message after message fails the relay's way
 * (sender refused, AUTH rejected, connection refused), `trip` records the reply and sending
 * pauses instead of spending the attempts of every owed digest on the same answer. Every
 * `probeSeconds` one sender, in whichever process asks first, tries one message; the first that
 * the relay takes (or refuses for a reason of its own: a recipient, the content) closes the
 * breaker and sending resumes everywhere.
 *
 * The state lives in Redis, not PostgreSQL: it is a hint about the relay, not a record. Lost with
 * Redis, the next batch simply tries the relay again.
 */
export function createRelayBreaker(redis: Redis, prefix: string, opts: { probeSeconds: number }) {
  const key = `${prefix}:relay-breaker`;
  const interval = opts.probeSeconds * 1000;

  return {
    /** May a sender send now? One call per batch. */
    async gate(now = Date.now()): Promise<Gate> {
      const r = (await redis.eval(GATE, 1, key, now, interval)) as string[];
      if (r[0] === 'send') return { kind: 'send' };
      if (r[0] === 'probe') return { kind: 'probe' };
      return { kind: 'wait', until: new Date(Number(r[1])), reply: r[2] ?? '' };
    },

    /** The relay refused again: (re)open the breaker; returns when the next probe may go. */
    async trip(reply: string, now = Date.now()): Promise<Date> {
      await redis
        .multi()
        .hset(key, 'reply', reply, 'probe_at', now + interval)
        .hsetnx(key, 'since', now)
        .exec();
      return new Date(now + interval);
    },

    /** The relay took a message: close the breaker. True when it had been open. */
    async reset(): Promise<boolean> {
      return (await redis.del(key)) > 0;
    },

    async state(): Promise<RelayState> {
      const h = await redis.hgetall(key);
      if (!h.probe_at) return { status: 'accepting' };
      return {
        status: 'refusing',
        reply: h.reply ?? '',
        since: new Date(Number(h.since ?? h.probe_at)),
        nextProbeAt: new Date(Number(h.probe_at)),
      };
    },
  };
}

export type RelayBreaker = ReturnType<typeof createRelayBreaker>;
