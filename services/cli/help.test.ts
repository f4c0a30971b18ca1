import { describe, expect, it } from 'vitest';
import { defineCommand } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { allOptions, helpText } from './help.ts';

describe('the command registry', () => {
  it('names each command once, and each of its help lines starts with its name', () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of COMMANDS) {
      expect(c.help.length, c.name).toBeGreaterThan(0);
      for (const line of c.help) expect(line.usage.split(' ')[0], line.usage).toBe(c.name);
    }
  });

  it('generates the help from every line, in order, summaries aligned or on the next line', () => {
    const help = helpText(COMMANDS);
    let from = 0;
    for (const { usage, summary } of COMMANDS.flatMap((c) => c.help)) {
      const at = help.indexOf(`  ${usage}`, from);
      expect(at, usage).toBeGreaterThanOrEqual(from);
      from = at;
      for (const line of summary.split('\n')) expect(help).toContain(line);
    }
    expect(help).toContain('  start                      Run the service');
    expect(help).toContain(
      '  digest preview --email <address> [--at <time>] [--html]\n                             Print the digest',
    );
  });

  it('parses every option any command declares, and refuses one name with two types', () => {
    expect(Object.keys(allOptions(COMMANDS)).sort()).toEqual([
      'at',
      'email',
      'help',
      'html',
      'reason',
      'since',
      'source',
    ]);
    const clash = [
      defineCommand({ name: 'a', help: [], options: { at: { type: 'string' } }, run: async () => {} }),
      defineCommand({ name: 'b', help: [], options: { at: { type: 'boolean' } }, run: async () => {} }),
    ];
    expect(() => allOptions(clash)).toThrow(/--at/);
  });
});
