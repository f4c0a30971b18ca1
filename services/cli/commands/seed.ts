import { defineCommand } from '../command.ts';
import { withServices } from '../lifecycle.ts';
import { createProgress } from '../progress.ts';
import { ingestCounts, stepUpdate } from '../steps.ts';

/** Opening the services loads the seed papers; this shows how that goes. */
export const seed = defineCommand({
  name: 'seed',
  help: [{ usage: 'seed', summary: 'Load the seed papers from seeds/ (idempotent)' }],
  options: {},
  async run({ config, log }) {
    const progress = createProgress('seed');
    await withServices(
      config,
      log,
      async (_services, prepared) => {
        const last = prepared?.seeds.at(-1);
        if (last) progress.update(ingestCounts(last));
        progress.end();
        console.log('Seed papers are loaded.');
      },
      { progress, onPrepare: (p) => progress.update(stepUpdate(p)) },
    );
  },
});
