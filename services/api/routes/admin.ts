import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.ts';
import { AppError } from '../../core/errors.ts';
import { networkOf } from '../../core/networks.ts';
import { type QueueName, type Queues, queueRegistry } from '../../core/queues.ts';
import type { RateLimiter, Rule } from '../../core/rate-limit.ts';
import type { RelayBreaker } from '../../mail/relay-breaker.ts';
import type { OpsService } from '../../ops/service.ts';
import { STATUS_NAMES } from '../../subscribers/status.ts';
import { errorHandler } from '../errors.ts';
import type { Pages } from '../pages.ts';
import { QUEUE_DASHBOARD_CSP } from '../security.ts';

const HTML = 'text/html; charset=utf-8';
const CHALLENGE = 'Basic realm="Paperboy admin", charset="UTF-8"';
const LIMITS = { days: 14, runs: 20, suppressions: 50 };

const when = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19);

class Unauthorized extends AppError {
  constructor() {
    super(401, 'unauthorized', 'The admin pages need the user name admin and the ADMIN_PASSWORD.');
  }
}

/**
 * Failed logins allowed per client IP and window. Past them every login from that IP is refused
 * until the window ends, the right password too: were it let in, the answers would still tell a
 * right guess from a wrong one and the limit would not slow guessing at all. The price is that
 * someone sharing the operator's IP (a NAT) can lock the operator out for this long.
 */
const LOGIN_LIMIT: Rule = {
  scope: 'admin-login',
  limit: { max: 10, windowSeconds: 15 * 60 },
  message: 'Too many failed admin logins from this address. Try again after the time in Retry-After.',
};

/**
 * A check of `Authorization: Basic …` against user `admin` and `password`. Both sides go through
 * HMAC-SHA256 under a key of this process, so the constant-time comparison always sees two
 * 32-byte digests and its duration says nothing about the password, not even its length.
 */
function basicAuthCheck(password: string): (header: string | undefined) => boolean {
  const key = randomBytes(32);
  const digest = (credentials: Buffer) => createHmac('sha256', key).update(credentials).digest();
  const expected = digest(Buffer.from(`admin:${password}`, 'utf8'));
  return (header) => {
    const m = /^Basic[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    return m?.[1] !== undefined && timingSafeEqual(digest(Buffer.from(m[1], 'base64')), expected);
  };
}

export interface AdminDeps {
  pages: Pages;
  /** ADMIN_PASSWORD, of user `admin`. */
  password: string;
  ops: Pick<OpsService, 'statusPage'>;
  breaker: Pick<RelayBreaker, 'state'>;
  /** The queues the dashboard shows: the producers' own Queue objects. */
  queues: Pick<Queues, 'get'>;
  limiter: RateLimiter;
  clock: Clock;
}

/**
 * The operator's pages under /admin, registered only when ADMIN_PASSWORD is set: a status page
 * read from PostgreSQL, and the BullMQ dashboard at /admin/queues. One onRequest hook guards every
 * route of this plugin (the dashboard's API and static files included) and its 404s, and limits
 * failed logins per client IP (LOGIN_LIMIT, counted in Redis across api processes).
 */
export const adminRoutes: FastifyPluginAsync<AdminDeps> = async (
  app,
  { pages, password, ops, breaker, queues, limiter, clock },
) => {
  const authorised = basicAuthCheck(password);
  // Answered through the app's error handler directly: bull-board's routes have a handler of
  // their own, which would turn a thrown 401 into a 500.
  const refuse = errorHandler(pages);
  const challenge = (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('www-authenticate', CHALLENGE);
    return refuse(new Unauthorized(), req, reply);
  };
  // Changes sent from other sites (a browser replays Basic credentials for them) are refused for
  // every route of the app before this hook runs: see security.ts.
  app.addHook('onRequest', async (req, reply) => {
    const given = req.headers.authorization;
    // A browser asks without credentials first: that is no failed login.
    if (given === undefined) return challenge(req, reply);
    try {
      if (authorised(given)) {
        const locked = await limiter.spent(LOGIN_LIMIT, networkOf(req.ip));
        return locked ? refuse(locked, req, reply) : undefined;
      }
      req.log.warn('admin: wrong user name or password');
      // Counted per network: an IPv6 client has a whole /64 of addresses to guess from.
      const [over] = await limiter.hitEach([LOGIN_LIMIT], [[networkOf(req.ip)]]);
      if (over) {
        req.log.warn({ retryAfter: over.retryAfter }, 'admin: too many failed logins from one address');
        return refuse(over, req, reply);
      }
    } catch (e) {
      return refuse(e, req, reply);
    }
    return challenge(req, reply);
  });
  app.addHook('onRoute', (route) => {
    // Operator routes stay out of the public OpenAPI document at /docs.
    route.schema = { ...route.schema, hide: true };
    // The dashboard is bull-board's script bundle, with needs of its own (see security.ts).
    if (route.url.startsWith('/admin/queues')) route.config = { ...route.config, csp: QUEUE_DASHBOARD_CSP };
  });
  // Unknown paths under /admin are 404 only for someone who passed the hook.
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `No route for ${req.method} ${req.url.split('?')[0]}` });
  });

  app.get('/', { config: { page: true } }, async (_req, reply) => {
    const [relay, read] = await Promise.all([breaker.state(), ops.statusPage(LIMITS)]);
    const counts = read.subscribers;
    const byStatus = new Map(counts.map((c) => [c.status, c.n]));
    const count = (n: number | null) => n ?? '—';
    const data = {
      now: when(clock.now()),
      relay:
        relay.status === 'refusing'
          ? { reply: relay.reply, since: when(relay.since), nextProbe: when(relay.nextProbeAt) }
          : undefined,
      subscribers: STATUS_NAMES.map((status) => ({ status, count: byStatus.get(status) ?? 0 })),
      subscriberTotal: counts.reduce((sum, c) => sum + c.n, 0),
      confirmationsGivenUp: read.confirmationsGivenUp,
      dayLimit: LIMITS.days,
      days: read.days,
      runLimit: LIMITS.runs,
      runs: read.runs.map((r) => ({
        started: when(r.started_at),
        seconds: ((r.finished_at.getTime() - r.started_at.getTime()) / 1000).toFixed(1),
        source: r.source,
        location: r.location,
        failed: r.status === 'failed',
        error: r.error,
        entries: count(r.entries),
        new: count(r.new),
        updated: count(r.updated),
        unchanged: count(r.unchanged),
        skipped: count(r.skipped),
      })),
      suppressionLimit: LIMITS.suppressions,
      suppressionTotal: read.suppressions[0]?.total ?? 0,
      suppressions: read.suppressions.map((s) => ({
        hash: s.hash_prefix,
        reason: s.reason,
        since: when(s.created_at),
      })),
    };
    return reply
      .header('cache-control', 'no-store')
      .type(HTML)
      .send(pages.render('admin', 'Admin', data));
  });

  // The BullMQ dashboard, on the same Queue objects the producers use. Loaded only here, so an
  // installation without admin pages never loads it.
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const board = new FastifyAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({
    queues: (Object.keys(queueRegistry) as QueueName[]).map((name) => new BullMQAdapter(queues.get(name))),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Paperboy queues', miscLinks: [{ text: 'Status page', url: '/admin' }] } },
  });
  await app.register(board.registerPlugin(), { prefix: '/queues' });
};
