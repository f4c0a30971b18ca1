import type { Parsed } from '../model.ts';
import { arxivAtom } from './arxiv-atom.ts';
import { hfDaily } from './hf-daily.ts';
import { seedPage } from './seed-page.ts';
import type { PaperSource } from './source.ts';

/** Every source Paperboy reads: the one list the config, the CLI and the ingest read. */
export const PAPER_SOURCES = [seedPage, hfDaily, arxivAtom] as const;

export type SourceName = (typeof PAPER_SOURCES)[number]['name'];
export const SOURCE_NAMES: SourceName[] = PAPER_SOURCES.map((s) => s.name);

/** Each source's parser, by name. */
export const SOURCE_PARSERS = Object.fromEntries(PAPER_SOURCES.map((s) => [s.name, s.parse])) as Record<
  SourceName,
  (text: string) => Parsed
>;

/** A source the scheduler may read: one with a location setting. */
export type ScheduledSource = PaperSource<SourceName> & Required<Pick<PaperSource, 'scheduled'>>;

/** The sources the scheduler may read, in registry order. */
export const SCHEDULED_SOURCES = PAPER_SOURCES.filter((s: PaperSource<SourceName>): s is ScheduledSource =>
  Boolean(s.scheduled),
);

export type { PaperSource } from './source.ts';
