/**
 * The fault suite at full size: every scenario against real service processes, PostgreSQL, Redis
 * and an SMTP server, and a table of what was injected and what came out.
 *
 *   npm run chaos [-- --subscribers 20000] [--smtp-down-seconds 60] [--only a,b] [--write docs/chaos.md]
 *                 [--append docs/chaos.md]
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { abuseScenarios } from './abuse.ts';
import { chaosTable } from './report.ts';
import { scenarios as faults, type ScenarioResult } from './scenarios.ts';
import { startChaosStack } from './stack.ts';

const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const subscribers = Number(flag('subscribers') ?? 20_000);
const smtpDownMs = Number(flag('smtp-down-seconds') ?? 60) * 1000;
const scenarios = { ...faults, ...abuseScenarios };
const only = flag('only')?.split(',') ?? Object.keys(scenarios);
const write = flag('write');

const stack = await startChaosStack();
const results: ScenarioResult[] = [];
try {
  for (const name of only) {
    const run = scenarios[name];
    if (!run) throw new Error(`no scenario ${name}; there are ${Object.keys(scenarios).join(', ')}`);
    console.log(`${name}…`);
    const r = await run(stack, { subscribers, smtpDownMs });
    console.log(`  ${JSON.stringify(r)}`);
    results.push(r);
  }
} finally {
  await stack.stop();
}
const command = `npm run chaos -- --subscribers ${subscribers} --smtp-down-seconds ${smtpDownMs / 1000}${flag('only') ? ` --only ${flag('only')}` : ''}`;
const table = chaosTable(results, command);
console.log(`\n${table}`);
const HEADER = `# Faults, measured

What \`npm run chaos\` injected and what it counted at the SMTP server and in PostgreSQL afterwards.
"lost" counts subscribers owed a digest (or, in the flood, ordinary readers owed a confirmation)
who got none; a duplicate is a second copy, which only a crash between the SMTP server's 250 and
the database commit may cause, and which must carry the same Message-ID (the number in brackets
counts those that did not: it must be 0).
`;
if (write) {
  writeFileSync(write, `${HEADER}\n${table}`);
  console.log(`written to ${write}`);
}
// --append FILE adds this run's table to a results file, for a scenario run on its own later.
const append = flag('append');
if (append) {
  appendFileSync(append, `\n${table}`);
  console.log(`appended to ${append}`);
}
const bad = results.filter((r) => r.lost || r.duplicatesWithNewId);
process.exit(bad.length ? 1 : 0);
