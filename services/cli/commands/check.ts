import { openServices } from '../../main.ts';
import { readiness, relayRefusal } from '../../readiness.ts';
import { defineCommand } from '../command.ts';

/**
 * For processes without HTTP (a worker's or scheduler's container health check): the servers
 * this configuration points at answer, or exit 1 naming those that do not.
 */
export const check = defineCommand({
  name: 'check',
  help: [{ usage: 'check', summary: 'Check that PostgreSQL, Redis and the SMTP server answer (exit 1 if not)' }],
  options: {},
  async run({ config, log }) {
    const { services, close } = await openServices(config, log, { prepare: false });
    try {
      const { ready, checks, relay } = await readiness(services, 5000);
      console.log(
        Object.entries(checks)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n'),
      );
      const refusal = relayRefusal(relay);
      if (refusal) console.log(`relay: ${refusal}`);
      process.exitCode = ready ? 0 : 1;
    } finally {
      await close();
    }
  },
});
