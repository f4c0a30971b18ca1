import type { Command } from '../command.ts';
import { check } from './check.ts';
import { digest } from './digest.ts';
import { ingest } from './ingest.ts';
import { migrate } from './migrate.ts';
import { rank } from './rank.ts';
import { retention } from './retention.ts';
import { seed } from './seed.ts';
import { start } from './start.ts';
import { subscriber } from './subscriber.ts';
import { suppressions } from './suppressions.ts';

/** Every command of the `paperboy` CLI, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [
  start,
  check,
  migrate,
  seed,
  digest,
  ingest,
  rank,
  subscriber,
  suppressions,
  retention,
];
