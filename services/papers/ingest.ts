import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Queryable } from '../core/db.ts';
import { paths } from '../core/paths.ts';
import { loadQueries } from '../core/sql.ts';
import { titleKey } from './normalize.ts';
import { parseSeedPage } from './sources/seed-page.ts';

const sql = loadQueries(new URL('./papers.sql', import.meta.url), ['upsert-papers', 'count-papers']);

export interface PaperInput {
  title: string;
  abstract: string;
  /** Position on the seed page, 1 = top. */
  seedPosition?: number;
}

export interface IngestReport {
  source: string;
  entries: number;
  new: number;
  updated: number;
  unchanged: number;
}

/** Until richer signals exist, a seed paper's trend score falls with its position on the page. */
const seedScore = (position: number | undefined) => (position ? 1 / position : 0);

export async function upsertPapers(db: Queryable, source: string, papers: PaperInput[]) {
  const res = await db.query<{ inserted: boolean }>(sql['upsert-papers'], [
    papers.map((p) => titleKey(p.title)),
    papers.map((p) => p.title),
    papers.map((p) => p.abstract),
    papers.map(() => source),
    papers.map((p) => p.seedPosition ?? null),
    papers.map((p) => seedScore(p.seedPosition)),
  ]);
  const inserted = res.rows.filter((r) => r.inserted).length;
  return { new: inserted, updated: res.rows.length - inserted, unchanged: papers.length - res.rows.length };
}

/** Loads every seed page under `seeds/`; running it again changes nothing. */
export async function loadSeeds(db: Queryable, dir = paths.seeds): Promise<IngestReport[]> {
  const reports: IngestReport[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()) {
    const { papers, entries } = parseSeedPage(readFileSync(path.join(dir, file), 'utf8'));
    reports.push({ source: `seed:${file}`, entries, ...(await upsertPapers(db, 'seed', papers)) });
  }
  return reports;
}

export async function countPapers(db: Queryable): Promise<number> {
  return (await db.query<{ n: number }>(sql['count-papers'])).rows[0]?.n ?? 0;
}
