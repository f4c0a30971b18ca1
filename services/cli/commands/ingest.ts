import { SourceUnavailable } from '../../papers/fetch.ts';
import { SOURCE_NAMES, type SourceName } from '../../papers/sources/index.ts';
import { defineCommand, expected, UsageError } from '../command.ts';
import { withServices } from '../lifecycle.ts';
import { createProgress } from '../progress.ts';
import { ingestCounts, stepUpdate } from '../steps.ts';

const INGEST = {
  usage: `ingest <path|url> --source <${SOURCE_NAMES.join('|')}>`,
  summary: 'Read one paper source by hand; prints new, updated, unchanged, skipped',
};

export const ingest = defineCommand({
  name: 'ingest',
  help: [INGEST],
  options: { source: { type: 'string' } },
  async run({ config, log, words, options }) {
    const [location] = words;
    const source = options.source as SourceName | undefined;
    if (!location || !source || !SOURCE_NAMES.includes(source)) throw expected(INGEST);
    const progress = createProgress('ingest');
    await withServices(
      config,
      log,
      async (services) => {
        const r = await services.papers
          .ingest(location, source, (p) => progress.update(stepUpdate(p)))
          .catch((e: Error) => {
            // An unreachable or malformed source is the operator's input problem: say it in one line.
            throw e instanceof SourceUnavailable || /^not (JSON|an Atom feed)|^expected/.test(e.message)
              ? new UsageError(e.message)
              : e;
          });
        progress.update(ingestCounts(r));
        progress.end();
        const reasons = Object.entries(r.skippedReasons).map(([why, n]) => `${n} ${why}`);
        console.log(
          `Ingested ${location} (${source}): ${r.entries} entries, ${r.new} new, ${r.updated} updated, ` +
            `${r.unchanged} unchanged, ${r.skipped} skipped${reasons.length ? ` (${reasons.join('; ')})` : ''}`,
        );
      },
      { progress },
    );
  },
});
