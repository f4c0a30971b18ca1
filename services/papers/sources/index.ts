import type { Parsed } from '../model.ts';
import { parseArxivAtom } from './arxiv-atom.ts';
import { parseHfDaily } from './hf-daily.ts';
import { parseSeedPage } from './seed-page.ts';

/** Every source Paperboy reads, by the name used in SOURCES and `paperboy ingest --source`. */
export const SOURCE_PARSERS = {
  seed: parseSeedPage,
  hf: parseHfDaily,
  arxiv: parseArxivAtom,
} as const satisfies Record<string, (text: string) => Parsed>;

export type SourceName = keyof typeof SOURCE_PARSERS;
export const SOURCE_NAMES = Object.keys(SOURCE_PARSERS) as SourceName[];
