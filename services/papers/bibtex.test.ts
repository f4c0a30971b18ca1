import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CitedPaper, citationKeys, escapeLatex, keyStem, toBibtex } from './bibtex.ts';

const paper = (p: Partial<CitedPaper>): CitedPaper => ({
  title: 'Attention Is All You Need',
  authors: ['Ashish Vaswani', 'Noam Shazeer'],
  arxivId: '1706.03762',
  categories: ['cs.CL', 'cs.LG'],
  year: 2017,
  url: 'https://arxiv.org/abs/1706.03762',
  ...p,
});

/** The value of each `name = {…}` field of one entry, read as BibTeX reads it: braces counted, escapes skipped. */
function fields(entry: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = entry.slice(entry.indexOf(',') + 1);
  let i = 0;
  for (;;) {
    const m = /\s*(\w+) = \{/y;
    m.lastIndex = i;
    const found = m.exec(body);
    if (!found) break;
    let depth = 1;
    let j = m.lastIndex;
    for (; depth > 0; j++) {
      if (j >= body.length) throw new Error(`unbalanced field ${found[1]}`);
      const c = body[j];
      if (c === '\\') j++;
      else if (c === '{') depth++;
      else if (c === '}') depth--;
    }
    out[found[1] as string] = body.slice(m.lastIndex, j - 1);
    i = j;
    if (body[i] === ',') i++;
  }
  const rest = body.slice(i).trim();
  if (rest !== '}') throw new Error(`entry does not end where its fields do: ${JSON.stringify(rest)}`);
  return out;
}

/** LaTeX's reading of escaped text, back to the characters. */
const readLatex = (s: string) =>
  s
    .replace(/\\textbackslash\{\}/g, '\\')
    .replace(/\\textasciitilde\{\}/g, '~')
    .replace(/\\textasciicircum\{\}/g, '^')
    .replace(/\\([{}&%$#_])/g, '$1');

const entries = (bib: string) => bib.split(/\n(?=@)/).map((e) => e.trim());

describe('BibTeX of a digest', () => {
  it('writes an arXiv paper as @misc with eprint, archivePrefix and primaryClass', () => {
    expect(toBibtex([paper({})])).toBe(
      `@misc{vaswani2017attention,
  title = {{Attention Is All You Need}},
  author = {Ashish Vaswani and Noam Shazeer},
  year = {2017},
  eprint = {1706.03762},
  archivePrefix = {arXiv},
  primaryClass = {cs.CL},
  url = {https://arxiv.org/abs/1706.03762}
}
`,
    );
  });

  it('writes a paper without an arXiv id with its page, and leaves out what is not known', () => {
    const bib = toBibtex([
      paper({ arxivId: null, authors: [], year: null, categories: [], url: 'https://paperboy.test/papers/7' }),
    ]);
    expect(bib).toBe(`@misc{anonattention,
  title = {{Attention Is All You Need}},
  url = {https://paperboy.test/papers/7}
}
`);
    // An arXiv paper without categories has no primaryClass; a malformed id is not an eprint.
    expect(toBibtex([paper({ categories: [] })])).not.toContain('primaryClass');
    expect(toBibtex([paper({ arxivId: '1706.03762}, evil = {x' })])).not.toContain('eprint');
  });

  it('gives stable, unique keys: last name, year, first significant word, then a letter', () => {
    const list = [
      paper({ title: 'The Deep Thing', authors: ['Ana María Müller-Lüdenscheidt'], year: 2024 }),
      paper({ title: 'Deep Things, again', authors: ['Carl Müller-Lüdenscheidt'], year: 2024 }),
      paper({ title: 'Deep: a third', authors: ['Ana Müller-Lüdenscheidt'], year: 2024 }),
      paper({ title: 'Deepa', authors: ['Ana Müller-Lüdenscheidt'], year: 2024 }),
      paper({ title: '   ', authors: ['  '], year: null }),
    ];
    const keys = citationKeys(list);
    expect(keys).toEqual([
      'mullerludenscheidt2024deep',
      'mullerludenscheidt2024deepa',
      'mullerludenscheidt2024deepb',
      'mullerludenscheidt2024deepaa',
      'anonpaper',
    ]);
    expect(citationKeys(list)).toEqual(keys);
    expect(keyStem(paper({ title: 'On the {Hostile} $x$ of #1' }))).toBe('vaswani2017hostile');
  });

  it('escapes every LaTeX special character, so hostile titles and names cannot end a field or an entry', () => {
    const hostile = [
      'Closing } early, = {x}, evil = {y',
      '@misc{injected, title = {pwned}}',
      '\\input{/etc/passwd} \\def\\x{} 100% of $x^2$ & #1_a ~b',
      'Line\nbreak\r\nand\ttab\u2028here',
      '}}}}{{{{',
      '\\',
    ];
    const list = hostile.map((title) => paper({ title, authors: [`${title} Smith`, 'Tom and Jerry'] }));
    const bib = toBibtex(list);
    const read = entries(bib);
    expect(read).toHaveLength(hostile.length);
    read.forEach((e, i) => {
      expect(e.startsWith('@misc{')).toBe(true);
      const f = fields(e);
      expect(Object.keys(f)).toEqual(['title', 'author', 'year', 'eprint', 'archivePrefix', 'primaryClass', 'url']);
      const title = f.title as string;
      expect(title.startsWith('{') && title.endsWith('}')).toBe(true);
      expect(readLatex(title.slice(1, -1))).toBe((hostile[i] as string).replace(/[\s\u2028]+/g, ' ').trim());
      // A name holding " and " is one author, in braces.
      expect(f.author?.endsWith(' and {Tom and Jerry}')).toBe(true);
    });
    expect(escapeLatex('a_b & c')).toBe('a\\_b \\& c');
    expect(escapeLatex('~^\\')).toBe('\\textasciitilde{}\\textasciicircum{}\\textbackslash{}');
  });

  it('keeps any title whole and every entry balanced (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { minLength: 1, maxLength: 5 }), (titles) => {
        const read = entries(toBibtex(titles.map((title) => paper({ title }))));
        expect(read).toHaveLength(titles.length);
        read.forEach((e, i) => {
          const title = fields(e).title as string;
          const expected = (titles[i] as string)
            .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
            .replace(/\s+/g, ' ')
            .trim();
          expect(readLatex(title.slice(1, -1))).toBe(expected);
        });
      }),
    );
  });

  it('keeps a URL inside its field', () => {
    const f = fields(entries(toBibtex([paper({ arxivId: null, url: 'https://x.test/a b}{\\' })]))[0] as string);
    expect(f.url).toBe('https://x.test/a%20b%7D%7B%5C');
  });
});
