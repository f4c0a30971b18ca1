import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Registry } from 'prom-client';
import type { QueueName } from '../../core/queues.ts';
import { digestSql } from '../../digests/queries.ts';
import { createSubscriberRepository } from '../../subscribers/repository.ts';
import type { AppDeps } from '../app.ts';

/**
 * Prometheus metrics. What every process shares (subscribers, deliveries and their send latency,
 * queue depths) is read from PostgreSQL and Redis at scrape time, so one api process reports the
 * whole installation; HTTP counters are this process's.
 */
const metrics: FastifyPluginAsync<AppDeps> = async (app, { services }) => {
  const registry = new Registry();
  const subscribers = createSubscriberRepository(services.db);
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
    help: 'Claim to SMTP acceptance of digests sent in the last hour',
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
    byStatus.reset();
    for (const r of await subscribers.countByStatus()) byStatus.set({ status: r.status }, r.n);
    deliveries.reset();
    latency.reset();
    const stats = (
      await services.db.query<{ status: string; n: number; p50: number | null; p99: number | null }>(
        digestSql['delivery-stats'],
      )
    ).rows;
    mails.reset();
    for (const status of ['sent', 'failed', 'bounced']) mails.set({ kind: 'digest', status }, 0);
    for (const r of stats) {
      deliveries.set({ status: r.status }, r.n);
      if (['sent', 'failed', 'bounced'].includes(r.status)) mails.set({ kind: 'digest', status: r.status }, r.n);
      if (r.status === 'sent' && r.p50 !== null) {
        latency.set({ quantile: '0.5' }, r.p50);
        latency.set({ quantile: '0.99' }, r.p99 ?? r.p50);
      }
    }
    const counted = await services.counters.read();
    mails.set({ kind: 'signup', status: 'sent' }, counted.signup_mails_sent ?? 0);
    mails.set({ kind: 'signup', status: 'failed' }, counted.signup_mails_failed ?? 0);
    const relay = await services.breaker.state();
    relayRefusing.set(relay.status === 'refusing' ? 1 : 0);
    relayRefusingSince.reset();
    if (relay.status === 'refusing') relayRefusingSince.set(relay.since.getTime() / 1000);
    queued.reset();
    for (const name of ['mail', 'digest', 'ingest'] as QueueName[]) {
      const counts = await services.queues.get(name).getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(counts)) queued.set({ queue: name, state }, n);
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};

// Not encapsulated: the request counter hook must see every route of the app.
export const metricsRoutes = fp(metrics, { name: 'paperboy-metrics' });
