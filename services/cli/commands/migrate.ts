import { defineCommand } from '../command.ts';
import { withServices } from '../lifecycle.ts';

/** Opening the services migrates the database; there is nothing more to do. */
export const migrate = defineCommand({
  name: 'migrate',
  help: [{ usage: 'migrate', summary: 'Apply database migrations' }],
  options: {},
  async run({ config, log }) {
    await withServices(config, log, async () => {
      console.log('Database is up to date.');
    });
  },
});
