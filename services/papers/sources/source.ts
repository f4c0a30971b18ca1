import type { Parsed } from '../model.ts';

/**
 * A paper source, declared once beside its parser: its name, how its text becomes papers, and,
 * for a source the scheduler may read, the setting that says where (a URL or a file path) and
 * its default. The config builds its settings from these declarations, so a new source is one
 * declaration and one entry in the registry (`./index.ts`).
 */
export interface PaperSource<Name extends string = string> {
  /** Its name in SOURCES, in `paperboy ingest --source` and in a paper's list of sources. */
  readonly name: Name;
  readonly parse: (text: string) => Parsed;
  /** Absent: read by hand (`paperboy ingest`) or at start only, never on the scheduler's round. */
  readonly scheduled?: {
    /** The environment variable holding where it is read from; `{date}` becomes today (UTC). */
    readonly setting: string;
    readonly defaultLocation: string;
    /** Whether SOURCES names it when SOURCES is unset. */
    readonly byDefault: boolean;
  };
}

export const definePaperSource = <const Name extends string>(source: PaperSource<Name>): PaperSource<Name> => source;
