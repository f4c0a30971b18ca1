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
 *   npx tsx bench/relevance-live.ts [--days 5] [--seeds 10]
 *
 * Each seed (how the readers vote, as bench/relevance.ts's seeds) runs on a service of its own.
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
  type DayScore,
  type DigestSource,
  f3,
  loadCorpus,
  mean,
  printArms,
  printSetUp,
  readers,
  type SimReader,
  simulate,
  summarize,
} from './relevance-sim.ts';
import { arg, benchServices, saveResult } from './support.ts';

process.env.BENCH_DATABASE_URL ??= process.env.TEST_DATABASE_URL;
process.env.BENCH_REDIS_URL ??= process.env.TEST_REDIS_URL;

const DAYS = arg('days', 5);
const SEEDS = arg('seeds', 10);
/** The day before the first digest: after the fixtures' dates, so every paper is news of the last days. */
const START = new Date('2026-03-06T12:00:00Z');
const DAY_MS = 86_400_000;

class MovingClock implements Clock {
  constructor(public at: Date) {}
  now() {
    return new Date(this.at);
  }
}

/** The path and query of a link, for app.inject. */
const pathOf = (u: string) => {
  const url = new URL(u);
  return url.pathname + url.search;
};

/**
 * Paperboy on its own database, queue prefix and keeping sink, on one moving clock, shared by the
 * arms: one planning run a day sends everyone's digest.
 */
class LiveService {
  private day = -1;
  /** The service's paper ids → this corpus's ids (by arXiv id, else title key). */
  readonly corpusId = new Map<number, number>();
  readonly runs: { day: number; sent: number; skipped: number; seconds: number; trendAgreement: number }[] = [];

  private constructor(
    private readonly clock: MovingClock,
    private readonly bench: Awaited<ReturnType<typeof benchServices>>,
    readonly app: Awaited<ReturnType<typeof buildApp>>,
    private readonly workers: { close(): Promise<void> },
    private readonly corpus: readonly BenchPaper[],
  ) {}

  static async start(corpus: readonly BenchPaper[]) {
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
    const app = await buildApp(bench.services);
    // The workers send the confirmation mail; digests are sent by runNow itself.
    const workers = startWorkers(bench.services);
    const service = new LiveService(clock, bench, app, workers, corpus);
    await service.load();
    return service;
  }

  get services() {
    return this.bench.services;
  }
  get sink() {
    return this.bench.caught as NonNullable<typeof this.bench.caught>;
  }

  /** The corpus as Paperboy ingests it: the seed page as `paperboy seed` loads it, the fixtures as `paperboy ingest` reads them. */
  private async load() {
    const { papers, db } = this.services;
    await papers.loadSeeds();
    await papers.ingest(path.join(ROOT, 'test/fixtures/arxiv-cs-lg.atom'), 'arxiv');
    await papers.ingest(path.join(ROOT, 'test/fixtures/hf-daily-papers.json'), 'hf');
    const byArxiv = new Map(this.corpus.filter((p) => p.arxivId).map((p) => [p.arxivId as string, p.id]));
    const byTitle = new Map(this.corpus.map((p) => [titleKey(p.title), p.id]));
    const { rows } = await db.query<{ id: string; arxiv_id: string | null; title_key: string }>(
      'SELECT id, arxiv_id, title_key FROM papers',
    );
    for (const r of rows) {
      const id = (r.arxiv_id && byArxiv.get(r.arxiv_id)) || byTitle.get(r.title_key);
      if (id) this.corpusId.set(Number(r.id), id);
    }
  }

  /** Day `day`'s digests, once for every arm: 08:00 UTC, trends refreshed, everyone due planned and sent. */
  async beginDay(day: number) {
    if (day <= this.day) return;
    this.day = day;
    const at = new Date(START.getTime() + (day + 1) * DAY_MS);
    at.setUTCHours(8, 0, 5, 0);
    this.clock.at = at;
    const t0 = performance.now();
    await this.services.papers.refreshTrends(at);
    const summary = await this.services.digests.runNow(at);
    const seconds = (performance.now() - t0) / 1000;
    this.runs.push({ day: day + 1, ...summary, seconds, trendAgreement: await this.trendAgreement() });
    // Votes are cast during the day, after the digest came.
    this.clock.at = new Date(at.getTime() + 3_600_000);
  }

  /**
   * Spearman's rank correlation between the service's trend scores now and the offline bench's
   * (every paper news at the same moment): how alike the two trend orders are.
   */
  private async trendAgreement(): Promise<number> {
    const { rows } = await this.services.db.query<{ id: string; trend_score: number }>(
      'SELECT id, trend_score FROM papers',
    );
    const offline = new Map(this.corpus.map((p) => [p.id, p.trendScore]));
    const pairs = rows.flatMap((r) => {
      const id = this.corpusId.get(Number(r.id));
      return id ? [[Number(r.trend_score), offline.get(id) ?? 0] as const] : [];
    });
    const ranks = (xs: number[]) => {
      const order = xs.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0]);
      const r = new Array<number>(xs.length);
      for (let i = 0; i < order.length; ) {
        let j = i;
        while (j + 1 < order.length && order[j + 1]?.[0] === order[i]?.[0]) j++;
        for (let k = i; k <= j; k++) r[(order[k] as readonly [number, number])[1]] = (i + j) / 2;
        i = j + 1;
      }
      return r;
    };
    const a = ranks(pairs.map((p) => p[0]));
    const b = ranks(pairs.map((p) => p[1]));
    const m = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const [ma, mb] = [m(a), m(b)];
    let cov = 0;
    let va = 0;
    let vb = 0;
    a.forEach((x, i) => {
      const y = b[i] as number;
      cov += (x - ma) * (y - mb);
      va += (x - ma) ** 2;
      vb += (y - mb) ** 2;
    });
    return cov / Math.sqrt(va * vb);
  }

  async close() {
    await this.app.close();
    await this.workers.close();
    for (const q of QUEUE_NAMES)
      await this.services.queues
        .get(q)
        .obliterate({ force: true })
        .catch(() => {});
    await this.bench.close();
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
    const res = await this.service.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { email, topics: this.options.withTopics ? r.topics : [] },
    });
    if (res.statusCode !== 202) throw new Error(`signup refused: ${res.statusCode} ${res.body}`);
    const mail = await simpleParser((await this.service.sink.waitFor((m) => m.to.includes(email))).raw);
    const confirm = (mail.text ?? '')
      .match(/https?:\/\/\S+/g)
      ?.find((u) => new URL(u).pathname.startsWith('/confirm/'));
    if (!confirm) throw new Error(`no confirmation link for ${email}`);
    const confirmed = await this.service.app.inject({ method: 'POST', url: pathOf(confirm) });
    if (!confirmed.body.includes('You are subscribed')) throw new Error(`confirmation failed for ${email}`);
    this.seen.set(email, this.service.sink.to(email).length);
  }

  beginDay(day: number) {
    return this.service.beginDay(day);
  }

  /** The day's digest as the mail has it: each paper's vote links, in the mail's order. */
  async digest(r: SimReader): Promise<number[]> {
    const email = this.email(r);
    const mails = this.service.sink.to(email);
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
    const page = await this.service.app.inject({ url });
    if (page.statusCode !== 200 || !page.body.includes(`action="${url}"`))
      throw new Error(`vote page ${url}: ${page.statusCode}`);
    const posted = await this.service.app.inject({ method: 'POST', url });
    if (posted.statusCode !== 200) throw new Error(`vote ${url}: ${posted.statusCode} ${posted.body}`);
    this.votes++;
  }
}

const corpus = loadCorpus();
const people = readers(corpus);
printSetUp(corpus, people, DAYS, SEEDS);
const names = ['trending only', 'topics only', 'learned'] as const;
const all: DayScore[][][][] = names.map(() => []);
for (let seed = 1; seed <= SEEDS; seed++) {
  const service = await LiveService.start(corpus);
  try {
    const arms = [
      new LiveSource('trending only', service, { withTopics: false, votes: false }),
      new LiveSource('topics only', service, { withTopics: true, votes: false }),
      new LiveSource('learned', service, { withTopics: true, votes: true }),
    ];
    const scores = await simulate(arms, people, DAYS, seed);
    for (const [i, s] of scores.entries()) all[i]?.push(s);
    const { rows } = await service.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reader_models');
    console.log(
      `seed ${seed}: ${service.corpusId.size} papers ingested and named in the corpus; ` +
        service.runs
          .map(
            (r) =>
              `day ${r.day} ${r.sent} sent in ${r.seconds.toFixed(1)} s (trend order ρ ${r.trendAgreement.toFixed(2)})`,
          )
          .join(', ') +
        `; ${arms[2]?.votes} votes through the mail's links, ${rows[0]?.n} reader models stored; ` +
        `learned day 3 precision@10 ${f3(mean(scores[2]?.map((r) => r[2]?.precision ?? 0) ?? []))}`,
    );
  } finally {
    await service.close();
  }
}
const summaries = names.map((n, i) => summarize(n, all[i] as DayScore[][][], people, DAYS));
printArms(summaries, people, DAYS);
const result = {
  benchmark: 'relevance-live',
  command: `npx tsx bench/relevance-live.ts --days ${DAYS} --seeds ${SEEDS}`,
  arms: summaries.map((a) => ({
    name: a.name,
    precisionAt10: a.days.map((d) => +f3(d.precision)),
    ndcgAt10: a.days.map((d) => +f3(d.ndcg)),
    interestSent: +f3(a.recall),
  })),
};
console.log(`written to ${saveResult('relevance-live', result)}`);
process.exit(0);
