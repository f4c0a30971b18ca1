import type { Services } from '../compose.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { openServices, type PrepareProgress } from '../main.ts';
import type { Progress } from './progress.ts';
import { STEPS } from './steps.ts';

let stopHandler: ((reason: string) => Promise<void>) | undefined;
let stopping = false;

/** What stopping early does: end this command's work and the local servers it started. */
export function onStop(handler: (reason: string) => Promise<void>) {
  stopHandler = handler;
}

function stop(reason: string, code: number) {
  if (stopping) return;
  stopping = true;
  (stopHandler?.(reason) ?? Promise.resolve()).then(
    () => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

/**
 * How the process stops early: on SIGINT/SIGTERM a running service (`isService`) stops cleanly and
 * exits 0, an interrupted command exits 130; a reader closing stdout (`paperboy rank … | head`)
 * is no error, but the servers must still stop.
 */
export function handleEarlyStops(isService: boolean) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => stop(signal, stopHandler && isService ? 0 : 130));
  }
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') stop('EPIPE', 0);
  });
}

/**
 * Opens the servers and services for one command, and closes them however the command ends. With
 * `progress`, its line tells what is happening while they open (starting local servers takes a
 * while), and is ended if the command fails, so the error starts on a line of its own.
 */
export async function withServices(
  config: Config,
  log: Logger,
  fn: (services: Services, prepared: Awaited<ReturnType<typeof openServices>>['prepared']) => Promise<void>,
  opts: { progress?: Progress; onPrepare?: (p: PrepareProgress) => void } = {},
) {
  const { progress } = opts;
  progress?.update({ phase: 'opening the database and queues' });
  const onPrepare =
    opts.onPrepare ?? (progress ? (p: PrepareProgress) => progress.update({ phase: STEPS[p.step] }) : undefined);
  const { services, prepared, close } = await openServices(config, log, { onPrepare }).catch((e) => {
    progress?.end();
    throw e;
  });
  onStop(close);
  try {
    await fn(services, prepared);
  } finally {
    progress?.end();
    // The handler stays until the servers are down: an early stop meanwhile waits for the same close.
    await close();
    stopHandler = undefined;
  }
}
