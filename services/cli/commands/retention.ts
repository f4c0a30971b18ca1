import { describeRetention } from '../../ops/retention.ts';
import { defineCommand, expected } from '../command.ts';
import { withServices } from '../lifecycle.ts';

const RUN = {
  usage: 'retention run',
  summary:
    'Delete now what is past its retention (the scheduler does it every\nRETENTION_EVERY_HOURS); prints what it deleted',
};

export const retention = defineCommand({
  name: 'retention',
  help: [RUN],
  options: {},
  async run({ config, log, words }) {
    if (words[0] !== 'run' || words.length > 1) throw expected(RUN);
    await withServices(config, log, async (services) => {
      console.log(describeRetention(await services.retention.run(services.clock.now())));
    });
  },
});
