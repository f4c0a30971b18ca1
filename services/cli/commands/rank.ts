import { defineCommand, expected, parseAt } from '../command.ts';
import { withServices } from '../lifecycle.ts';

const RANK = {
  usage: 'rank --email <address> [--at <time>]',
  summary: 'Show what that subscriber would get next and why; changes nothing',
};

export const rank = defineCommand({
  name: 'rank',
  help: [RANK],
  options: { email: { type: 'string' }, at: { type: 'string' } },
  async run({ config, log, options }) {
    const { email } = options;
    if (!email) throw expected(RANK);
    const at = parseAt(options.at);
    await withServices(config, log, async (services) => {
      const r = await services.ranking.preview(email, at);
      console.log(
        `${r.email} (${r.status}; topics: ${r.topics.length ? r.topics.join(', ') : 'none'}; ${r.maxPapers} papers; ` +
          `papers news since ${r.since.toISOString().slice(0, 10)}; ${r.alreadySent} sent before)`,
      );
      if (!r.picks.length) console.log('Nothing new: no digest would be sent.');
      for (const p of r.picks) {
        console.log(`${String(p.position).padStart(2)}. ${p.title}${p.arxiv_id ? ` [arXiv:${p.arxiv_id}]` : ''}`);
        const score = typeof p.score === 'number' ? `; score ${p.score.toFixed(3)}` : '';
        console.log(`    why: ${p.reason} (trend score ${p.trend_score}${score})`);
      }
    });
  },
});
