import type { Queryable } from '../core/db.ts';
import { loadQueries } from '../core/sql.ts';
import type { CitationRow } from '../papers/bibtex.ts';
import type { ReaderModel } from '../relevance/model.ts';

/**
 * What readers teach Paperboy, stored (interests.sql, migration 024): votes, follows and the
 * models learned from votes. The one module that reads and writes those tables.
 */
const sql = loadQueries(new URL('./interests.sql', import.meta.url), [
  'paper-of-delivery',
  'record-vote',
  'delete-vote',
  'delete-votes',
  'list-votes',
  'liked-citations',
  'add-follow',
  'delete-follow',
  'list-follows',
  'names-like',
  'personal-readers',
  'training-votes',
  'save-model',
  'delete-model',
  'model-of',
  'sent-among',
]);

export type VoteValue = 1 | -1;

/** A model learns from a reader's newest votes, this many at most. */
export const TRAINING_VOTES = 500;
export const FOLLOW_KINDS = ['author', 'organization'] as const;
export type FollowKind = (typeof FOLLOW_KINDS)[number];

/** A paper as a vote link names it: in one delivery of one subscriber. */
export interface DeliveredPaper {
  subscriberId: number;
  tokenEpoch: number;
  paperId: number;
  title: string;
  authors: string[];
  organization: string | null;
  /** The subscriber's vote on it so far. */
  vote: VoteValue | null;
}

export interface VoteRow {
  paperId: number;
  value: VoteValue;
  /** ISO 8601. */
  votedAt: string;
  title: string;
  arxivId: string | null;
}

export interface FollowRow {
  kind: FollowKind;
  nameKey: string;
  name: string;
  /** ISO 8601. */
  createdAt: string;
}

/** A subscriber the planner picks for in TypeScript: they voted, follow someone or exclude a term. */
export interface PersonalReader {
  id: number;
  topics: string[];
  maxPapers: number;
  excludedTerms: string[];
  followedAuthors: string[];
  followedOrganizations: string[];
  /** The stored model and what it was trained on. */
  model?: ReaderModel;
  modelBasis?: string;
  /** What a model trained now would be trained on; undefined when they have no votes. */
  basis?: string;
}

/** A voted paper with the text relevance reads, for training. */
export interface TrainingVote {
  paperId: number;
  value: VoteValue;
  title: string;
  abstract: string;
  keywords: string[];
  authors: string[];
  organization: string | null;
}

export function createInterestRepository(db: Queryable) {
  return {
    async paperOfDelivery(deliveryId: number, paperId: number): Promise<DeliveredPaper | undefined> {
      const { rows } = await db.query<{
        subscriber_id: number;
        token_epoch: number;
        paper_id: number;
        title: string;
        authors: string[];
        organization: string | null;
        vote: number | null;
      }>(sql['paper-of-delivery'], [deliveryId, paperId]);
      const r = rows[0];
      return (
        r && {
          subscriberId: Number(r.subscriber_id),
          tokenEpoch: r.token_epoch,
          paperId: Number(r.paper_id),
          title: r.title,
          authors: r.authors,
          organization: r.organization,
          vote: r.vote === null ? null : (Number(r.vote) as VoteValue),
        }
      );
    },
    async recordVote(subscriberId: number, paperId: number, value: VoteValue): Promise<void> {
      await db.query(sql['record-vote'], [subscriberId, paperId, value]);
    },
    /** Whether there was a vote to undo. */
    async deleteVote(subscriberId: number, paperId: number): Promise<boolean> {
      return ((await db.query(sql['delete-vote'], [subscriberId, paperId])).rowCount ?? 0) > 0;
    },
    async deleteVotes(subscriberId: number): Promise<number> {
      return (await db.query(sql['delete-votes'], [subscriberId])).rowCount ?? 0;
    },
    async listVotes(subscriberId: number): Promise<VoteRow[]> {
      const { rows } = await db.query<{
        paper_id: number;
        value: number;
        voted_at: Date;
        title: string;
        arxiv_id: string | null;
      }>(sql['list-votes'], [subscriberId]);
      return rows.map((r) => ({
        paperId: Number(r.paper_id),
        value: Number(r.value) as VoteValue,
        votedAt: r.voted_at.toISOString(),
        title: r.title,
        arxivId: r.arxiv_id,
      }));
    },
    /** The papers the subscriber liked, as their BibTeX cites them. */
    async likedCitations(subscriberId: number): Promise<CitationRow[]> {
      const { rows } = await db.query<CitationRow>(sql['liked-citations'], [subscriberId]);
      return rows.map((r) => ({ ...r, id: Number(r.id) }));
    },
    async addFollow(subscriberId: number, kind: FollowKind, nameKey: string, name: string): Promise<void> {
      await db.query(sql['add-follow'], [subscriberId, kind, nameKey, name]);
    },
    async deleteFollow(subscriberId: number, kind: FollowKind, nameKey: string): Promise<boolean> {
      return ((await db.query(sql['delete-follow'], [subscriberId, kind, nameKey])).rowCount ?? 0) > 0;
    },
    async listFollows(subscriberId: number): Promise<FollowRow[]> {
      const { rows } = await db.query<{ kind: FollowKind; name_key: string; name: string; created_at: Date }>(
        sql['list-follows'],
        [subscriberId],
      );
      return rows.map((r) => ({
        kind: r.kind,
        nameKey: r.name_key,
        name: r.name,
        createdAt: r.created_at.toISOString(),
      }));
    },
    /** Names papers carry that may have `letters` (a name key's a–z and digits) in them. */
    async namesLike(kind: FollowKind, letters: string): Promise<string[]> {
      return (await db.query<{ name: string }>(sql['names-like'], [kind, letters])).rows.map((r) => r.name);
    },
    async personalReaders(subscriberIds: number[]): Promise<PersonalReader[]> {
      const { rows } = await db.query<{
        id: number;
        topics: string[];
        max_papers: number;
        excluded_terms: string[];
        followed_authors: string[];
        followed_organizations: string[];
        model: ReaderModel | null;
        model_basis: string | null;
        basis: string | null;
      }>(sql['personal-readers'], [subscriberIds]);
      return rows.map((r) => ({
        id: Number(r.id),
        topics: r.topics,
        maxPapers: r.max_papers,
        excludedTerms: r.excluded_terms,
        followedAuthors: r.followed_authors,
        followedOrganizations: r.followed_organizations,
        model: r.model ?? undefined,
        modelBasis: r.model_basis ?? undefined,
        basis: r.basis ?? undefined,
      }));
    },
    /** The newest TRAINING_VOTES votes, oldest first, with their papers' text. */
    async trainingVotes(subscriberId: number): Promise<TrainingVote[]> {
      const { rows } = await db.query<{
        paper_id: number;
        value: number;
        title: string;
        abstract: string;
        keywords: string[];
        authors: string[];
        organization: string | null;
      }>(sql['training-votes'], [subscriberId, TRAINING_VOTES]);
      return rows.map((r) => ({
        paperId: Number(r.paper_id),
        value: Number(r.value) as VoteValue,
        title: r.title,
        abstract: r.abstract,
        keywords: r.keywords,
        authors: r.authors,
        organization: r.organization,
      }));
    },
    async saveModel(subscriberId: number, model: ReaderModel, basis: string): Promise<void> {
      await db.query(sql['save-model'], [subscriberId, JSON.stringify(model), basis]);
    },
    /** The stored model, as the data export shows it. */
    async modelOf(subscriberId: number): Promise<{ model: ReaderModel; trainedAt: Date } | undefined> {
      const { rows } = await db.query<{ model: ReaderModel; trained_at: Date }>(sql['model-of'], [subscriberId]);
      const r = rows[0];
      return r && { model: r.model, trainedAt: r.trained_at };
    },
    async deleteModel(subscriberId: number): Promise<void> {
      await db.query(sql['delete-model'], [subscriberId]);
    },
    /**
     * Which of their candidates each subscriber was sent before, in one query: the papers sent
     * with an id from `from` up (one range scan each) and exact probes for candidates below it.
     * `from` changes only the cost: the window's smallest paper id keeps the probes few.
     */
    async sentAmong(
      candidates: ReadonlyMap<number, readonly number[]>,
      from: number,
    ): Promise<Map<number, Set<number>>> {
      const sent = new Map<number, Set<number>>();
      const wanted = new Map<number, Set<number>>();
      const records = [...candidates].map(([subscriberId, ids]) => {
        sent.set(subscriberId, new Set());
        wanted.set(subscriberId, new Set(ids));
        return { subscriber_id: subscriberId, older: ids.filter((id) => id < from) };
      });
      if (records.length === 0) return sent;
      const { rows } = await db.query<{ subscriber_id: number; paper_id: number }>(sql['sent-among'], [
        JSON.stringify(records),
        from,
      ]);
      for (const r of rows) {
        const id = Number(r.subscriber_id);
        const paper = Number(r.paper_id);
        if (wanted.get(id)?.has(paper)) sent.get(id)?.add(paper);
      }
      return sent;
    },
  };
}

export type InterestRepository = ReturnType<typeof createInterestRepository>;
