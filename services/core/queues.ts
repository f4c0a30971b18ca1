import { type ConnectionOptions, type Job, type JobsOptions, Queue, Worker, type WorkerOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';

const ids = z.array(z.number().int().positive()).min(1);

/**
 * Every queue, the jobs it carries and their payloads. Jobs name rows in PostgreSQL, never whole
 * messages or secrets: if Redis is lost, what is owed can be rebuilt from the database.
 */
export const queueRegistry = {
  mail: {
    /**
     * The replies to a batch of signups: a confirmation link, or a reminder to an active
     * subscriber. Jobs queued before signups were batched carry one `subscriberId`.
     */
    signup: z.union([
      z.object({ subscriberIds: ids }),
      z.object({ subscriberId: z.number().int().positive() }).transform((d) => ({ subscriberIds: [d.subscriberId] })),
    ]),
    /** A fresh preferences link, asked for from the unsubscribe page or an expired link's page. */
    'manage-link': z.object({ subscriberId: z.number().int().positive() }),
  },
  ingest: {
    /** Reads every configured paper source and refreshes trend scores. */
    sources: z.object({}),
  },
  digest: {
    tick: z.object({}),
    /** Re-enqueues what PostgreSQL says is owed but no job carries. */
    sweep: z.object({}),
    send: z.object({ deliveryIds: ids }),
  },
  relevance: {
    /** Trains a reader's model after they voted (services/interests/trainer.ts). */
    train: z.object({ subscriberId: z.number().int().positive() }),
  },
  maintenance: {
    /** Deletes what PostgreSQL and Redis no longer need (services/ops/retention.ts). */
    retention: z.object({}),
  },
} as const;

export const QUEUE_NAMES = Object.keys(queueRegistry) as QueueName[];

export type QueueName = keyof typeof queueRegistry;
export type JobName<Q extends QueueName> = keyof (typeof queueRegistry)[Q] & string;
export type Payload<Q extends QueueName, J extends JobName<Q>> = z.infer<(typeof queueRegistry)[Q][J]>;
export type Handlers<Q extends QueueName> = {
  [J in JobName<Q>]: (data: Payload<Q, J>, job: Job) => Promise<unknown>;
};

/** Producers: an `add` fails at once when Redis is down rather than queueing in memory. */
export interface Queues {
  add<Q extends QueueName, J extends JobName<Q>>(
    queue: Q,
    name: J,
    data: Payload<Q, J>,
    opts?: JobsOptions,
  ): Promise<void>;
  get(queue: QueueName): Queue;
  /** The producers' Redis connection, for other short commands (rate limits). */
  redis: Redis;
  close(): Promise<void>;
}

export function redisOptions(role: 'producer' | 'worker'): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 };
}

export function createQueues(redisUrl: string, prefix: string): Queues {
  const connection = new Redis(redisUrl, redisOptions('producer'));
  connection.on('error', () => {}); // reported by the failing `add`; reconnects on its own
  const queues = new Map<QueueName, Queue>();
  const get = (name: QueueName) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: connection as ConnectionOptions, prefix });
      q.on('error', () => {}); // a lost connection is reported by the `add` that fails
      queues.set(name, q);
    }
    return q;
  };
  return {
    get,
    redis: connection,
    async add(queue, name, data, opts) {
      const schema = queueRegistry[queue][name] as z.ZodType;
      await get(queue).add(name, schema.parse(data), opts);
    },
    async close() {
      // Bounded: with Redis gone, closing must not wait for a connection that will not come back.
      const closed = Promise.all([...queues.values()].map((q) => q.close()));
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      connection.disconnect();
    },
  };
}

/** A worker for one queue that validates each payload against the registry before handling it. */
export function createWorker<Q extends QueueName>(
  queue: Q,
  redisUrl: string,
  prefix: string,
  handlers: Handlers<Q>,
  opts: Omit<WorkerOptions, 'connection' | 'prefix'> = {},
): Worker {
  const connection = new Redis(redisUrl, redisOptions('worker'));
  const worker = new Worker(
    queue,
    async (job) => {
      const name = job.name as JobName<Q>;
      const schema = (queueRegistry[queue] as Record<string, z.ZodType>)[name];
      const handler = handlers[name] as ((data: unknown, job: Job) => Promise<unknown>) | undefined;
      if (!schema || !handler) throw new Error(`queue ${queue} has no job named ${job.name}`);
      return handler(schema.parse(job.data), job);
    },
    // Stalled-job checks are queue-wide: every worker uses the same interval.
    {
      stalledInterval: 30_000,
      ...opts,
      connection: connection as ConnectionOptions,
      prefix,
    },
  );
  worker.on('closed', () => connection.disconnect());
  return worker;
}
