/**
 * Relevance, measured through the service: the readers of bench/relevance.ts, with the same hidden
 * interests and the same votes, on real PostgreSQL, Redis and SMTP. The corpus is ingested by
 * Paperboy itself (the seed page as `paperboy seed` loads it, the arXiv and Hugging Face fixtures
 * as `paperboy ingest` reads them); each reader signs up through the API (with their topics, or
 * none) and confirms through the mailed link; each day the clock moves to 08:00, the trend scores
 * are refreshed as the hourly job does, and `digests.runNow` plans and sends everyone's digest
 * (the planner, its personal path for readers who voted, the renderer, the mailer); each digest is
 * read from the mail the sink caught, and each vote is the mail's own link: the GET page, then
 * its button's POST. Three arms in one run, on one service: trending only (no topics, no votes),
 * topics only (topics, no votes) and learned (topics and votes).
 *
 *   npx tsx bench/relevance-live.ts [--days 5] [--seed 1]
 *
 * Servers: BENCH_DATABASE_URL / BENCH_REDIS_URL, else TEST_DATABASE_URL / TEST_REDIS_URL, else a
 * throwaway PostgreSQL and Redis (bench/support.ts). The database is created for the run and dropped.
 */
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { buildApp } from '../services/api/app.ts';
import type { Clock } from '../services/core/clock.ts';
import { ROOT } from '../services/core/paths.ts';
import { QUEUE_NAMES } from '../services/core/queues.ts';
import { titleKey } from '../services/papers/normalize.ts';
import { startWorkers } from '../services/worker/index.ts';
import {
  type BenchPaper,
  type DigestSource,
  f3,
  loadCorpus,
  printArms,
  printSetUp,
  readers,
  type SimReader,
  simulate,
  summarize,
} from './relevance-sim.ts';
import { arg, benchServices } from './support.ts';

process.env.BENCH_DATABASE_URL ??= process.env.TEST_DATABASE_URL;
process.env.BENCH_REDIS_URL ??= process.env.TEST_REDIS_URL;

const DAYS = arg('days', 5);
const SEED = arg('seed', 1);
/** The day before the first digest: after the fixtures' dates, so every paper is news of the last days. */
const START = new Date('2026-03-06T12:00:00Z');
const DAY_MS = 86_400_000;

class MovingClock implements Clock {
  constructor(public at: Date) {}
  now() {
    return new Date(this.at);
  }
}

const clock = new MovingClock(START);
const bench = await benchServices(
  {
    PUBLIC_URL: 'http://paperboy.bench',
    SIGNUP_LIMIT_PER_IP: '1000000',
    SIGNUP_LIMIT_PER_ADDRESS: '1000000',
    SIGNUP_LIMIT_GLOBAL: '1000000',
  },
  { clock, keepMail: true },
);
const { services } = bench;
const sink = bench.caught as NonNullable<typeof bench.caught>;
const app = await buildApp(services);
// The workers send the confirmation mail; digests are sent by runNow itself.
const workers = startWorkers(services);

/** The path and query of a link, for app.inject. */
const pathOf = (u: string) => {
  const url = new URL(u);
  return url.pathname + url.search;
};

/** The service on one moving clock, shared by the arms: one planning run a day sends everyone's digest. */
class LiveService {
  private day = -1;
  /** The service's paper ids → this corpus's ids (by arXiv id, else title key). */
  readonly corpusId = new Map<number, number>();
  readonly runs: { day: number; sent: number; skipped: number; seconds: number }[] = [];

  async load(corpus: readonly BenchPaper[]) {
    await services.papers.loadSeeds();
    await services.papers.ingest(path.join(ROOT, 'test/fixtures/arxiv-cs-lg.atom'), 'arxiv');
    await services.papers.ingest(path.join(ROOT, 'test/fixtures/hf-daily-papers.json'), 'hf');
    const byArxiv = new Map(corpus.filter((p) => p.arxivId).map((p) => [p.arxivId as string, p.id]));
    const byTitle = new Map(corpus.map((p) => [titleKey(p.title), p.id]));
    const { rows } = await services.db.query<{ id: string; arxiv_id: string | null; title_key: string }>(
      'SELECT id, arxiv_id, title_key FROM papers',
    );
    for (const r of rows) {
      const id = (r.arxiv_id && byArxiv.get(r.arxiv_id)) || byTitle.get(r.title_key);
      if (id) this.corpusId.set(Number(r.id), id);
    }
    return rows.length;
  }

  /** Day `day`'s digests, once for every arm: 08:00 UTC, trends refreshed, everyone due planned and sent. */
  async beginDay(day: number) {
    if (day <= this.day) return;
    this.day = day;
    const at = new Date(START.getTime() + (day + 1) * DAY_MS);
    at.setUTCHours(8, 0, 5, 0);
    clock.at = at;
    const t0 = performance.now();
    await services.papers.refreshTrends(at);
    const summary = await services.digests.runNow(at);
    this.runs.push({ day: day + 1, ...summary, seconds: (performance.now() - t0) / 1000 });
    // Votes are cast during the day, after the digest came.
    clock.at = new Date(at.getTime() + 3_600_000);
  }
}

/** Links under one paper of a digest. */
interface PaperLinks {
  more: string;
  less: string;
}

/** One arm: readers signed up through the API, their digests from the mail, votes through its links. */
class LiveSource implements DigestSource {
  private readonly emails = new Map<string, string>();
  private readonly links = new Map<string, Map<number, PaperLinks>>();
  private readonly seen = new Map<string, number>();
  votes = 0;

  constructor(
    readonly name: string,
    private readonly service: LiveService,
    private readonly options: { withTopics: boolean; votes: boolean },
  ) {}

  private email(r: SimReader) {
    const e = this.emails.get(r.name);
    if (!e) throw new Error(`${r.name} has not subscribed to ${this.name}`);
    return e;
  }

  async subscribe(r: SimReader) {
    const email = `${this.name.replace(/\W+/g, '-')}.${this.emails.size + 1}@example.org`;
    this.emails.set(r.name, email);
    const res = await app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { email, topics: this.options.withTopics ? r.topics : [] },
    });
    if (res.statusCode !== 202) throw new Error(`signup refused: ${res.statusCode} ${res.body}`);
    const mail = await simpleParser((await sink.waitFor((m) => m.to.includes(email))).raw);
    const confirm = (mail.text ?? '')
      .match(/https?:\/\/\S+/g)
      ?.find((u) => new URL(u).pathname.startsWith('/confirm/'));
    if (!confirm) throw new Error(`no confirmation link for ${email}`);
    const confirmed = await app.inject({ method: 'POST', url: pathOf(confirm) });
    if (!confirmed.body.includes('You are subscribed')) throw new Error(`confirmation failed for ${email}`);
    this.seen.set(email, sink.to(email).length);
  }

  beginDay(day: number) {
    return this.service.beginDay(day);
  }

  /** The day's digest as the mail has it: each paper's vote links, in the mail's order. */
  async digest(r: SimReader): Promise<number[]> {
    const email = this.email(r);
    const mails = sink.to(email);
    const before = this.seen.get(email) ?? 0;
    this.seen.set(email, mails.length);
    if (mails.length === before) {
      this.links.set(r.name, new Map());
      return [];
    }
    const mail = await simpleParser((mails.at(-1) as (typeof mails)[number]).raw);
    const text = mail.text ?? '';
    const more = [...text.matchAll(/More like this: (\S+)/g)].map(([, u]) => pathOf(u as string));
    const less = [...text.matchAll(/Less like this: (\S+)/g)].map(([, u]) => pathOf(u as string));
    const links = new Map<number, PaperLinks>();
    const ids = more.map((link, i) => {
      const paperId = Number(/\/vote\/[^/]+\/(\d+)\/more$/.exec(link)?.[1]);
      // A paper of the service outside this corpus counts as outside every interest.
      const id = this.service.corpusId.get(paperId) ?? -paperId;
      links.set(id, { more: link, less: less[i] as string });
      return id;
    });
    this.links.set(r.name, links);
    return ids;
  }

  /** "More like this" or "Less like this" as a reader clicks it: the page, then its button. */
  async vote(r: SimReader, paperId: number, value: 1 | -1) {
    if (!this.options.votes) return;
    const link = this.links.get(r.name)?.get(paperId);
    if (!link) throw new Error(`paper ${paperId} was not in ${r.name}'s digest`);
    const url = value === 1 ? link.more : link.less;
    const page = await app.inject({ url });
    if (page.statusCode !== 200 || !page.body.includes(`action="${url}"`))
      throw new Error(`vote page ${url}: ${page.statusCode}`);
    const posted = await app.inject({ method: 'POST', url });
    if (posted.statusCode !== 200) throw new Error(`vote ${url}: ${posted.statusCode} ${posted.body}`);
    this.votes++;
  }
}

try {
  const corpus = loadCorpus();
  const people = readers(corpus);
  const service = new LiveService();
  const stored = await service.load(corpus);
  console.log(
    `relevance through the service: ${stored} papers stored by ingest, ${service.corpusId.size} of them named in the corpus`,
  );
  printSetUp(corpus, people, DAYS, 1);
  const arms = [
    new LiveSource('trending only', service, { withTopics: false, votes: false }),
    new LiveSource('topics only', service, { withTopics: true, votes: false }),
    new LiveSource('learned', service, { withTopics: true, votes: true }),
  ];
  const scores = await simulate(arms, people, DAYS, SEED);
  const summaries = arms.map((a, i) => summarize(a.name, [scores[i] as (typeof scores)[number]], people, DAYS));
  for (const r of service.runs)
    console.log(`day ${r.day}: ${r.sent} digests sent, ${r.skipped} skipped, ${r.seconds.toFixed(1)} s`);
  const { rows } = await services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reader_models');
  console.log(`votes cast through the mail's links: ${arms[2]?.votes}; reader models stored: ${rows[0]?.n}`);
  printArms(summaries, people, DAYS);
  const learned = summaries[2];
  if (learned) console.log(`learned NDCG@10 on day 3: ${f3(learned.days[2]?.ndcg ?? 0)}`);
} finally {
  await app.close();
  await workers.close();
  for (const q of QUEUE_NAMES)
    await services.queues
      .get(q)
      .obliterate({ force: true })
      .catch(() => {});
  await bench.close();
}
process.exit(0);
