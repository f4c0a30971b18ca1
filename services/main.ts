import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.ts';
import { composeServices, type Services } from './compose.ts';
import type { Config } from './core/config.ts';
import type { Logger } from './core/logger.ts';
import { migrate } from './core/migrate.ts';
import { type Infrastructure, resolveInfrastructure } from './local/stack.ts';
import { type IngestProgress, loadSeeds } from './papers/ingest.ts';
import { startScheduler } from './scheduler/index.ts';
import { startWorkers } from './worker/index.ts';

/** Where preparing the database is: migrating, then the seed papers' steps. */
export type PrepareProgress = { step: 'migrating' } | IngestProgress;

/** Brings the schema up to date and loads the seed papers; safe to run from every process at once. */
export async function prepareDatabase(s: Services, onProgress?: (p: PrepareProgress) => void) {
  onProgress?.({ step: 'migrating' });
  const applied = await migrate(s.db);
  if (applied.length) s.log.info({ applied }, 'migrations applied');
  const seeds = await loadSeeds(s.db, s.clock.now(), { onProgress });
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
  const services = composeServices(config, infra, log);
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
    if (opts.prepare !== false) prepared = await prepareDatabase(services, opts.onPrepare);
  } catch (e) {
    await close();
    throw e;
  }
  return { infra, services, prepared, close };
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
      await app.listen({ port: config.port, host: config.host });
      url = config.publicUrl;
    }
    return { url, infra, services, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
