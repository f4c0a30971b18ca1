/** A paper as a source reports it, before it is merged into the papers table. */
export interface PaperInput {
  title: string;
  abstract: string;
  /** arXiv identifier without version, e.g. 2602.23229 or hep-th/9901001. */
  arxivId?: string;
  arxivVersion?: number;
  authors?: string[];
  categories?: string[];
  keywords?: string[];
  publishedAt?: Date;
  /** The day a curator featured it (Hugging Face daily papers). */
  featuredAt?: Date;
  /** The lab or company the paper comes from, as the source names it. */
  organization?: string;
  /** A one-line summary, when the source writes one (Hugging Face's `ai_summary`). */
  aiSummary?: string;
  githubRepo?: string;
  projectPage?: string;
  upvotes?: number;
  comments?: number;
  githubStars?: number;
  /** Position on the seed page, 1 = top. */
  seedPosition?: number;
}

export interface Skipped {
  reason: string;
  /** What identifies the entry in its source (an id, a title, an index). */
  entry: string;
}

export interface Parsed {
  papers: PaperInput[];
  /** Entries the source held, including skipped and repeated ones. */
  entries: number;
  skipped: Skipped[];
}

/** arXiv ids with their version split off: "http://arxiv.org/abs/2602.23229v2" → 2602.23229, 2. */
export function parseArxivId(raw: string): { id: string; version?: number } | undefined {
  const m = /(?:arxiv\.org\/abs\/|^)((?:\d{4}\.\d{4,5})|(?:[a-z-]{2,16}(?:\.[A-Z]{2})?\/\d{7}))(?:v(\d+))?$/i.exec(
    raw.trim(),
  );
  if (!m) return undefined;
  return { id: m[1] as string, version: m[2] ? Number(m[2]) : undefined };
}
