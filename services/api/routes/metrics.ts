import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Registry } from 'prom-client';
import { cachedFor } from '../../core/cached.ts';
import type { Counters } from '../../core/counters.ts';
import { QUEUE_NAMES, type Queues } from '../../core/queues.ts';
import type { RelayBreaker } from '../../mail/relay-breaker.ts';
import type { OpsService } from '../../ops/service.ts';

/** How long one reading of PostgreSQL serves scrapes: however often /metrics is called. */
const DATABASE_READING_MS = 10_000;

export interface MetricsDeps {
  ops: Pick<OpsService, 'metrics'>;
  counters: Pick<Counters, 'read'>;
  breaker: Pick<RelayBreaker, 'state'>;
  queues: Pick<Queues, 'get'>;
}

/**
 * Prometheus metrics. What every process shares (subscribers, deliveries and their send latency,
 * queue depths) is read from PostgreSQL and Redis at scrape time, so one api process reports the
 * whole installation; HTTP counters are this process's.
 *
 * A scrape costs the same whatever the tables hold and however often it comes: PostgreSQL's
 * numbers are read so that their cost does not grow with the tables (see OpsService.metrics), and
 * one reading serves every scrape for 10 seconds. Redis-side numbers (queues, the relay, signup
 * mails) are read on every scrape.
 */
const metrics: FastifyPluginAsync<MetricsDeps> = async (app, { ops, counters, breaker, queues }) => {
  const registry = new Registry();
  const readDatabase = cachedFor(DATABASE_READING_MS, () => ops.metrics());
  // Requests are counted in a plain map and handed to prom-client at scrape time, rather than
  // labelling a prom-client counter (which hashes its labels) on every request.
  const answered = new Map<string, { route: string; status: string; n: number }>();
  new Counter({
    name: 'paperboy_http_requests_total',
    help: 'HTTP requests answered by this process, by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { route, status, n } of answered.values()) this.inc({ route, status }, n);
    },
  });
  const byStatus = new Gauge({
    name: 'paperboy_subscribers',
    help: 'Subscribers by status',
    labelNames: ['status'],
    registers: [registry],
  });
  const deliveries = new Gauge({
    name: 'paperboy_deliveries',
    help: 'Digest deliveries ever planned, by status (sent, failed, bounced, skipped, queued, sending)',
    labelNames: ['status'],
    registers: [registry],
  });
  const latency = new Gauge({
    name: 'paperboy_smtp_send_seconds',
    help: 'Claim to SMTP acceptance of digests sent in the last hour (among the latest 10,000 planned)',
    labelNames: ['quantile'],
    registers: [registry],
  });
  const mails = new Gauge({
    name: 'paperboy_mails',
    help: 'Mails by kind and outcome: digests (sent, failed, bounced) from PostgreSQL; signup replies (confirmations and reminders; sent, and failed after their last attempt) counted in Redis by the workers',
    labelNames: ['kind', 'status'],
    registers: [registry],
  });
  const relayRefusing = new Gauge({
    name: 'paperboy_smtp_relay_refusing',
    help: '1 while the SMTP relay refuses mail and sending is paused (the breaker is open), else 0',
    registers: [registry],
  });
  const relayRefusingSince = new Gauge({
    name: 'paperboy_smtp_relay_refusing_since_seconds',
    help: 'When the SMTP relay started refusing (Unix time), while it does',
    registers: [registry],
  });
  const estimated = new Gauge({
    name: 'paperboy_counts_estimated',
    help: "1 when a table's counts (subscribers, deliveries) come from PostgreSQL's statistics, 0 when counted row by row",
    labelNames: ['table'],
    registers: [registry],
  });
  const queued = new Gauge({
    name: 'paperboy_queue_jobs',
    help: 'Jobs in each queue, by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
  });

  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unknown';
    const key = `${reply.statusCode} ${route}`;
    const seen = answered.get(key);
    if (seen) seen.n++;
    else answered.set(key, { route, status: String(reply.statusCode), n: 1 });
    done();
  });

  app.get('/metrics', async (_req, reply) => {
    const read = await readDatabase();
    byStatus.reset();
    for (const r of read.byStatus) byStatus.set({ status: r.status }, r.n);
    deliveries.reset();
    latency.reset();
    mails.reset();
    for (const status of ['sent', 'failed', 'bounced']) mails.set({ kind: 'digest', status }, 0);
    for (const r of read.deliveries) {
      deliveries.set({ status: r.status }, r.n);
      if (['sent', 'failed', 'bounced'].includes(r.status)) mails.set({ kind: 'digest', status: r.status }, r.n);
    }
    if (read.latency?.p50 != null) {
      latency.set({ quantile: '0.5' }, read.latency.p50);
      latency.set({ quantile: '0.99' }, read.latency.p99 ?? read.latency.p50);
    }
    for (const [table, yes] of Object.entries(read.estimated)) estimated.set({ table }, yes ? 1 : 0);
    const counted = await counters.read();
    mails.set({ kind: 'signup', status: 'sent' }, counted.signup_mails_sent ?? 0);
    mails.set({ kind: 'signup', status: 'failed' }, counted.signup_mails_failed ?? 0);
    mails.set({ kind: 'preferences-link', status: 'sent' }, counted.link_mails_sent ?? 0);
    mails.set({ kind: 'preferences-link', status: 'failed' }, counted.link_mails_failed ?? 0);
    const relay = await breaker.state();
    relayRefusing.set(relay.status === 'refusing' ? 1 : 0);
    relayRefusingSince.reset();
    if (relay.status === 'refusing') relayRefusingSince.set(relay.since.getTime() / 1000);
    queued.reset();
    for (const name of QUEUE_NAMES) {
      const counts = await queues.get(name).getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(counts)) queued.set({ queue: name, state }, n);
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};

// Not encapsulated: the request counter hook must see every route of the app.
export const metricsRoutes = fp(metrics, { name: 'paperboy-metrics' });
