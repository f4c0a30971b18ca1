import { isIP } from 'node:net';
import path from 'node:path';
import { domainToASCII } from 'node:url';
import { z } from 'zod';
import { SCHEDULED_SOURCES, type SourceName } from '../papers/sources/index.ts';
import { ROOT } from './paths.ts';

export const ROLES = ['api', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? v : undefined))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(`${p}://`)), {
      message: `expected a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

/** One setting per schedulable source, named and defaulted by the source's own declaration. */
function sourceLocationSettings() {
  return Object.fromEntries(
    SCHEDULED_SOURCES.map((s) => [s.scheduled.setting, z.string().min(1).default(s.scheduled.defaultLocation)]),
  ) as Record<string, z.ZodDefault<z.ZodString>>;
}

/** Every setting Paperboy reads from the environment, with its default. */
export const EnvSchema = z.object({
  ROLES: z
    .string()
    .default(ROLES.join(','))
    .transform((v) =>
      v
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(ROLES)).min(1)),
  PORT: int(3000, 0, 65535),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_URL: optionalUrl(['http', 'https']),
  TRUST_PROXY: z.string().default('false').transform(parseTrustProxy),
  // auto: on while the api listens on loopback only and no proxy fronts it.
  MAILBOX_PAGE: z.enum(['auto', 'true', 'false']).default('auto'),
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  REDIS_URL: optionalUrl(['redis', 'rediss']),
  SMTP_URL: optionalUrl(['smtp', 'smtps']),
  DATA_DIR: z.string().default('.data'),
  MAIL_FROM: z.string().default('Paperboy <paperboy@localhost>'),
  TOKEN_SECRETS: z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    )
    .refine((v) => v === undefined || v.every((s) => s.length >= 32), {
      message: 'expected comma-separated secrets of at least 32 characters each',
    }),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('paperboy'),
  DIGEST_BATCH_SIZE: int(200, 1, 10_000),
  DIGEST_TICK_SECONDS: int(60, 1, 86_400),
  SEND_ATTEMPTS: int(8, 1, 100),
  SEND_RETRY_BASE_SECONDS: int(30, 1, 86_400),
  SEND_RETRY_FACTOR: z.coerce.number().min(1).max(10).default(4),
  SEND_RETRY_MAX_SECONDS: int(3600, 1, 7 * 86_400),
  DIGEST_MAX_AGE_HOURS: int(12, 1, 24 * 7),
  DELIVERY_LEASE_SECONDS: int(300, 1, 86_400),
  SWEEP_EVERY_SECONDS: int(60, 5, 86_400),
  SWEEP_AFTER_SECONDS: int(300, 1, 86_400),
  SHUTDOWN_TIMEOUT_SECONDS: int(30, 1, 3600),
  SMTP_MAX_CONNECTIONS: int(5, 1, 100),
  SMTP_MAX_MESSAGES: int(1000, 1, 1_000_000),
  SMTP_RATE_PER_SECOND: int(0, 0, 100_000),
  RELAY_PROBE_SECONDS: int(60, 1, 86_400),
  REPLY_TO: z.string().optional(),
  UNSUBSCRIBE_MAILTO: z.string().email().optional(),
  FEEDBACK_ID: z
    .string()
    .regex(/^[\w.-]+(:[\w.-]+)*$/, 'colon-separated fields such as digest:paperboy:example')
    .optional(),
  DKIM_DOMAIN: z.string().optional(),
  DKIM_SELECTOR: z.string().optional(),
  DKIM_PRIVATE_KEY_FILE: z.string().optional(),
  WEBHOOK_SECRET: z.string().min(24, 'at least 24 characters').optional(),
  WEBHOOK_ALLOW_BEARER: z.enum(['true', 'false']).default('false'),
  // Unset (or empty): no admin pages at all. Not trimmed: every character of a password counts.
  ADMIN_PASSWORD: z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined))
    .refine((v) => v === undefined || v.length >= 16, {
      message: 'expected at least 16 characters (or leave it unset to turn the admin pages off)',
    }),
  CONFIRM_TTL_HOURS: int(24 * 7, 1, 24 * 90),
  MANAGE_LINK_TTL_DAYS: int(90, 1, 365),
  SIGNUP_LIMIT_PER_IP: int(20, 1, 1_000_000_000),
  SIGNUP_LIMIT_PER_ADDRESS: int(3, 1, 1_000_000_000),
  SIGNUP_LIMIT_GLOBAL: int(1000, 1, 1_000_000_000),
  SIGNUP_LIMIT_WINDOW_SECONDS: int(3600, 1, 86_400 * 7),
  BLOCKED_EMAIL_DOMAINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((d) => domainToASCII(d.trim().toLowerCase()))
        .filter(Boolean),
    ),
  SOURCES: z
    .string()
    .default(
      SCHEDULED_SOURCES.filter((s) => s.scheduled.byDefault)
        .map((s) => s.name)
        .join(','),
    )
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(SCHEDULED_SOURCES.map((s) => s.name) as [SourceName, ...SourceName[]]))),
  // Where each schedulable source is read: a URL or a file path; {date} becomes today's date (UTC).
  ...sourceLocationSettings(),
  INGEST_EVERY_MINUTES: int(60, 1, 24 * 60),
  RANK_WINDOW_DAYS: int(14, 1, 365),
  // A reader's model is trained this long after a vote, once for a burst of votes.
  RELEVANCE_TRAIN_DELAY_SECONDS: int(30, 0, 3600),
  // What Redis keeps of finished jobs, and what PostgreSQL keeps of what stops mattering (README,
  // Retention). The trend score reads one day back, so observations are kept for at least two.
  JOBS_KEEP_COMPLETED: int(1000, 1, 10_000_000),
  JOBS_KEEP_COMPLETED_HOURS: int(1, 1, 24 * 365),
  JOBS_KEEP_FAILED: int(5000, 1, 10_000_000),
  JOBS_KEEP_FAILED_DAYS: int(7, 1, 365),
  RETENTION_EVERY_HOURS: int(24, 1, 24 * 7),
  RETENTION_PENDING_DAYS: int(7, 1, 365),
  RETENTION_OBSERVATIONS_DAYS: int(7, 2, 3650),
  RETENTION_INGEST_RUNS_DAYS: int(30, 1, 3650),
  RETENTION_REPLIES_DAYS: int(30, 1, 3650),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = ReturnType<typeof loadConfig>;

/** An address (or name) only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export const isLoopback = (host: string) =>
  /^(localhost|::1|\[::1\]|127(\.\d{1,3}){3}|::ffff:127(\.\d{1,3}){3})$/i.test(host.trim());

/** Whose X-Forwarded-For the api believes: nobody's, the nearest `hops` proxies', or these proxies'. */
export type TrustProxy = false | { hops: number } | { proxies: string[] };

/** Names proxy-addr knows for whole ranges: 127.0.0.1/8 and ::1, 169.254.0.0/16 and fe80::/10, private ranges. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

const isProxyAddress = (entry: string) => {
  if (PROXY_RANGES.includes(entry)) return true;
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  // A prefix length, or (IPv4) a dotted netmask as proxy-addr allows.
  if (/^\d{1,3}$/.test(bits)) return Number(bits) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(bits) === 4;
};

/**
 * TRUST_PROXY: `false`, a number of proxies in front of the api, or their addresses. `true` (believe
 * every X-Forwarded-For) is refused: the leftmost entry is whatever the client wrote, so a client
 * could name a new address for every request and the rate limits would never see it twice.
 */
function parseTrustProxy(raw: string, ctx: z.RefinementCtx): TrustProxy {
  const v = raw.trim();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') {
    ctx.addIssue({
      code: 'custom',
      message:
        'true would believe any X-Forwarded-For a client sends, so every request could claim a new address and ' +
        'escape the rate limits; set the number of proxies in front of Paperboy (1 for one reverse proxy) or ' +
        'their addresses (e.g. 10.0.0.5,192.168.0.0/16)',
    });
    return z.NEVER;
  }
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops > 10) {
      ctx.addIssue({ code: 'custom', message: 'expected at most 10 proxies' });
      return z.NEVER;
    }
    return { hops };
  }
  const proxies = v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = proxies.filter((p) => !isProxyAddress(p));
  if (bad.length > 0 || proxies.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected false, a number of proxies, or comma-separated proxy addresses and CIDR ranges (or loopback, linklocal, uniquelocal); not an address: ${bad.join(', ')}`,
    });
    return z.NEVER;
  }
  return { proxies };
}

export class ConfigError extends Error {}

/** Parses the environment once; a bad value names the variable and what was expected. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    roles: new Set<Role>(e.ROLES),
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    /** False when PUBLIC_URL is unset and `publicUrl` is only derived from PORT. */
    publicUrlExplicit: e.PUBLIC_URL !== undefined,
    /** Whose X-Forwarded-For to believe: nobody's, the nearest `n` hops', or these proxies'. */
    trustProxy: e.TRUST_PROXY,
    /**
     * Serve /mailbox, the built-in mail catcher's messages (confirmation links included), when
     * the catcher is in use. By default only while nothing but this machine reaches the api.
     */
    mailboxPage: e.MAILBOX_PAGE === 'auto' ? isLoopback(e.HOST) && e.TRUST_PROXY === false : e.MAILBOX_PAGE === 'true',
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    smtpUrl: e.SMTP_URL,
    dataDir: path.resolve(ROOT, e.DATA_DIR),
    mailFrom: e.MAIL_FROM,
    tokenSecrets: e.TOKEN_SECRETS,
    queuePrefix: e.QUEUE_PREFIX,
    digestBatchSize: e.DIGEST_BATCH_SIZE,
    digestTickSeconds: e.DIGEST_TICK_SECONDS,
    sendAttempts: e.SEND_ATTEMPTS,
    retry: {
      baseSeconds: e.SEND_RETRY_BASE_SECONDS,
      factor: e.SEND_RETRY_FACTOR,
      maxSeconds: e.SEND_RETRY_MAX_SECONDS,
    },
    digestMaxAgeSeconds: e.DIGEST_MAX_AGE_HOURS * 3600,
    leaseSeconds: e.DELIVERY_LEASE_SECONDS,
    sweepEverySeconds: e.SWEEP_EVERY_SECONDS,
    sweepAfterSeconds: e.SWEEP_AFTER_SECONDS,
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT_SECONDS,
    relayProbeSeconds: e.RELAY_PROBE_SECONDS,
    smtp: {
      maxConnections: e.SMTP_MAX_CONNECTIONS,
      maxMessages: e.SMTP_MAX_MESSAGES,
      ratePerSecond: e.SMTP_RATE_PER_SECOND,
    },
    replyTo: e.REPLY_TO,
    unsubscribeMailto: e.UNSUBSCRIBE_MAILTO,
    feedbackId: e.FEEDBACK_ID,
    dkim:
      e.DKIM_DOMAIN && e.DKIM_SELECTOR && e.DKIM_PRIVATE_KEY_FILE
        ? { domainName: e.DKIM_DOMAIN, keySelector: e.DKIM_SELECTOR, privateKeyFile: e.DKIM_PRIVATE_KEY_FILE }
        : undefined,
    webhookSecret: e.WEBHOOK_SECRET,
    /** Whether the webhook still takes `Authorization: Bearer <WEBHOOK_SECRET>` instead of a signature. */
    webhookAllowBearer: e.WEBHOOK_ALLOW_BEARER === 'true',
    /** The password of user `admin` for /admin; undefined: the admin pages do not exist. */
    adminPassword: e.ADMIN_PASSWORD,
    confirmTtlHours: e.CONFIRM_TTL_HOURS,
    manageLinkTtlDays: e.MANAGE_LINK_TTL_DAYS,
    signupLimits: {
      perIp: { max: e.SIGNUP_LIMIT_PER_IP, windowSeconds: e.SIGNUP_LIMIT_WINDOW_SECONDS },
      perAddress: { max: e.SIGNUP_LIMIT_PER_ADDRESS, windowSeconds: e.SIGNUP_LIMIT_WINDOW_SECONDS },
      global: { max: e.SIGNUP_LIMIT_GLOBAL, windowSeconds: e.SIGNUP_LIMIT_WINDOW_SECONDS },
    },
    blockedEmailDomains: new Set(e.BLOCKED_EMAIL_DOMAINS),
    /** The sources the scheduler reads, each with where from (its own setting, or its default). */
    sources: e.SOURCES.map((name) => {
      const { setting } = SCHEDULED_SOURCES.find((s) => s.name === name)!.scheduled;
      return { name, location: (e as Record<string, unknown>)[setting] as string };
    }),
    ingestEveryMinutes: e.INGEST_EVERY_MINUTES,
    rankWindowDays: e.RANK_WINDOW_DAYS,
    trainDelaySeconds: e.RELEVANCE_TRAIN_DELAY_SECONDS,
    /**
     * Finished jobs each queue keeps (BullMQ's `removeOnComplete` / `removeOnFail`), at most
     * `count` and none older than `age` seconds. Completed jobs stay at least a sweep window
     * (SWEEP_AFTER_SECONDS), the span within which the sweeper names its jobs alike.
     */
    jobRetention: {
      completed: {
        count: e.JOBS_KEEP_COMPLETED,
        age: Math.max(e.JOBS_KEEP_COMPLETED_HOURS * 3600, e.SWEEP_AFTER_SECONDS),
      },
      failed: { count: e.JOBS_KEEP_FAILED, age: e.JOBS_KEEP_FAILED_DAYS * 86_400 },
    },
    retention: {
      everyHours: e.RETENTION_EVERY_HOURS,
      pendingDays: e.RETENTION_PENDING_DAYS,
      observationsDays: e.RETENTION_OBSERVATIONS_DAYS,
      ingestRunsDays: e.RETENTION_INGEST_RUNS_DAYS,
      repliesDays: e.RETENTION_REPLIES_DAYS,
    },
    logLevel: e.LOG_LEVEL,
  };
}
