import { startPaperboy } from '../../main.ts';
import { defineCommand } from '../command.ts';
import { onStop } from '../lifecycle.ts';

export const start = defineCommand({
  name: 'start',
  help: [{ usage: 'start', summary: 'Run the service (roles from ROLES: api, worker, scheduler; default all)' }],
  options: {},
  runsTheService: true,
  async run({ config, log }) {
    const running = await startPaperboy(config, log);
    onStop(async (reason) => {
      log.info({ reason }, 'shutting down');
      // Workers get SHUTDOWN_TIMEOUT_SECONDS for sends in flight; whatever else hangs (a
      // connection to a server that vanished) gets a few seconds more, then the process exits:
      // deliveries left claimed are taken again after their lease.
      const bound = (config.shutdownTimeoutSeconds + 5) * 1000;
      const timedOut = new Promise<void>((resolve) =>
        setTimeout(() => {
          log.warn({ seconds: bound / 1000 }, 'shutdown did not finish in time; exiting anyway');
          resolve();
        }, bound).unref(),
      );
      await Promise.race([running.stop(), timedOut]);
    });
    console.log(
      `Paperboy is running${running.url ? ` at ${running.url}` : ''} (roles: ${[...config.roles].join(', ')})`,
    );
    if (running.infra.mailboxDir && running.url)
      console.log(
        config.mailboxPage
          ? `Mail it sends is caught locally: ${running.url}/mailbox`
          : `Mail it sends is caught locally in ${running.infra.mailboxDir} (the /mailbox page is off: HOST is not a loopback address or TRUST_PROXY is set; MAILBOX_PAGE=true turns it on)`,
      );
  },
});
