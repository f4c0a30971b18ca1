import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.ts';
import { composeServices, type Services } from './compose.ts';
import type { Config } from './core/config.ts';
import { isUnavailable, StartupError } from './core/errors.ts';
import type { Logger } from './core/logger.ts';
import { migrate } from './core/migrate.ts';
import { type Infrastructure, resolveInfrastructure } from './local/stack.ts';
import type { IngestProgress } from './papers/ingest.ts';
import { pingRedis, within } from './readiness.ts';
import { startScheduler } from './scheduler/index.ts';
import { startWorkers } from './worker/index.ts';

/** Where preparing the database is: migrating, then the seed papers' steps. */
export type PrepareProgress = { step: 'migrating' } | IngestProgress;

/** Brings the schema up to date and loads the seed papers; safe to run from every process at once. */
export async function prepareDatabase(s: Services, onProgress?: (p: PrepareProgress) => void) {
  onProgress?.({ step: 'migrating' });
  const applied = await migrate(s.db);
  if (applied.length) s.log.info({ applied }, 'migrations applied');
  const seeds = await s.papers.loadSeeds(onProgress);
  for (const r of seeds) if (r.new || r.updated) s.log.info(r, 'seed papers loaded');
  onProgress?.({ step: 'ranking' });
  await s.papers.refreshTrends();
  return { applied, seeds };
}

/**
 * Opens the servers (local ones when none are configured) and the services on them, with the
 * database prepared (unless `prepare: false`); `onPrepare` hears how that goes.
 */
export async function openServices(
  config: Config,
  log: Logger,
  opts: { share?: boolean; onPrepare?: (p: PrepareProgress) => void; prepare?: boolean } = {},
) {
  const infra = await resolveInfrastructure(config, log, opts);
  const services = composeServices(withRunningPublicUrl(config, infra, log), infra, log);
  let closing: Promise<void> | undefined;
  // Idempotent: a signal and the command's own ending may both ask.
  const close = () => {
    closing ??= (async () => {
      await services.close().catch((e) => log.warn({ err: e }, 'closing services failed'));
      await infra.stop();
    })();
    return closing;
  };
  let prepared: Awaited<ReturnType<typeof prepareDatabase>> | undefined;
  try {
    if (opts.prepare !== false) {
      prepared = await prepareDatabase(services, opts.onPrepare).catch((e) => {
        throw postgresFailure(e, infra.databaseUrl);
      });
      await redisAnswers(services, infra.redisUrl);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { infra, services, prepared, close };
}

/**
 * A command beside a running service makes links that point where the service's do: its
 * PUBLIC_URL, or the one its PORT gives, unless this command sets PUBLIC_URL itself (then it says
 * where the two differ).
 */
function withRunningPublicUrl(config: Config, infra: Infrastructure, log: Logger): Config {
  const theirs = infra.joined?.publicUrl;
  if (!theirs || theirs === config.publicUrl) return config;
  if (config.publicUrlExplicit) {
    log.warn(
      { publicUrl: config.publicUrl, runningPublicUrl: theirs },
      `PUBLIC_URL here is ${config.publicUrl}, but the running service's links point at ${theirs}: mail sent by this command links to ${config.publicUrl}`,
    );
    return config;
  }
  log.info({ publicUrl: theirs }, 'links point where the running service says');
  return { ...config, publicUrl: theirs };
}

export interface Running {
  url?: string;
  infra: Infrastructure;
  services: Services;
  stop(): Promise<void>;
}

/** Runs the roles named in ROLES (api, worker, scheduler; all by default) until stopped. */
export async function startPaperboy(config: Config, log: Logger): Promise<Running> {
  const { infra, services, close } = await openServices(config, log, { share: true });
  let app: FastifyInstance | undefined;
  let workers: { close(): Promise<void> } | undefined;
  let scheduler: { close(): void } | undefined;
  const stop = async () => {
    scheduler?.close();
    await app?.close();
    await workers?.close();
    await close();
  };
  try {
    if (config.roles.has('worker')) workers = startWorkers(services);
    if (config.roles.has('scheduler')) scheduler = await startScheduler(services);
    let url: string | undefined;
    if (config.roles.has('api')) {
      app = await buildApp(services);
      await app.listen({ port: config.port, host: config.host }).catch((e: NodeJS.ErrnoException) => {
        throw listenFailure(e, config);
      });
      url = config.publicUrl;
    }
    return { url, infra, services, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A port that cannot be had, said as what to do about it. */
function listenFailure(e: NodeJS.ErrnoException, config: Config): Error {
  if (e.code === 'EADDRINUSE') {
    return new StartupError(
      `port ${config.port} on ${config.host} is already in use by another program: stop it, or choose another port with PORT`,
    );
  }
  if (e.code === 'EACCES') {
    return new StartupError(
      `port ${config.port} on ${config.host} needs privileges this process lacks: choose a port above 1023 with PORT`,
    );
  }
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') {
    return new StartupError(`HOST=${config.host} is not an address of this machine: set HOST to one (or 0.0.0.0)`);
  }
  return e;
}

const where = (url: string) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
};

/** A PostgreSQL that cannot be used at start, said as what to do about it. */
function postgresFailure(e: unknown, url: string): unknown {
  const err = e as { code?: string; message?: string };
  const at = where(url);
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
    return new StartupError(`the PostgreSQL host in DATABASE_URL (${at}) is not found: fix DATABASE_URL`, { cause: e });
  if (err.code === '28P01' || err.code === '28000')
    return new StartupError(`PostgreSQL at ${at} refused the user or password in DATABASE_URL: fix them`, { cause: e });
  if (err.code === '3D000')
    return new StartupError(`${err.message} on ${at}: create it (\`createdb\`), or fix DATABASE_URL`, { cause: e });
  if (isUnavailable(e))
    return new StartupError(
      `PostgreSQL at ${at} does not answer (${err.code ?? err.message}): start it, or set DATABASE_URL to one that runs`,
      { cause: e },
    );
  return e;
}

/** Fails at start, in one sentence, when Redis does not answer, instead of waiting on it forever. */
async function redisAnswers(services: Services, url: string) {
  const answered = await within(10_000, pingRedis(services.queues.redis)).catch(() => false);
  if (answered === false || answered === 'timeout') {
    throw new StartupError(`Redis at ${where(url)} does not answer: start it, or set REDIS_URL to one that runs`);
  }
}
