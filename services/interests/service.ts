import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { Invalid, NotFound } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Queues } from '../core/queues.ts';
import type { RateLimiter, Rule } from '../core/rate-limit.ts';
import type { Tokens } from '../core/tokens.ts';
import { bibtexOf } from '../papers/bibtex.ts';
import { nameKey, nameLetters } from '../relevance/text.ts';
import { CONTROL } from '../subscribers/schemas.ts';
import {
  createInterestRepository,
  type DeliveredPaper,
  FOLLOW_KINDS,
  type FollowKind,
  type FollowRow,
  type InterestRepository,
  type VoteRow,
  type VoteValue,
} from './repository.ts';

/** "More like this" and "Less like this", as links and forms name them. */
export const VOTE_DIRECTIONS = { more: 1, less: -1 } as const satisfies Record<string, VoteValue>;
export type VoteDirection = keyof typeof VOTE_DIRECTIONS;
export const directionOf = (value: VoteValue): VoteDirection => (value > 0 ? 'more' : 'less');

/** A follow as a request gives it: an author's or organization's name as papers write it. */
export const FollowInput = z
  .object({
    kind: z.enum(FOLLOW_KINDS).describe('author or organization'),
    name: z
      .string()
      .trim()
      .min(1, 'name is required')
      .max(200, 'name is at most 200 characters')
      .refine((s) => !CONTROL.test(s), 'name contains control characters'),
  })
  .strict();
export type FollowInput = z.infer<typeof FollowInput>;

/** A paper a vote link names, as its page shows it. */
export interface VotedPaper {
  paperId: number;
  title: string;
  /** Its authors and organization, each with whether the reader follows them already. */
  names: { kind: FollowKind; name: string; followed: boolean }[];
  vote: VoteDirection | null;
}

/** What a reader taught Paperboy, as the preferences page and the API list it. */
export interface Interests {
  votes: (Omit<VoteRow, 'value'> & { vote: VoteDirection })[];
  follows: FollowRow[];
}

/**
 * Follows by name a subscriber may ask for in an hour: each looks the name up among every paper's
 * authors (a scan), so a preferences link cannot be used to keep the database busy.
 */
export const NAME_LOOKUPS: Rule = {
  scope: 'follow-by-name',
  limit: { max: 30, windowSeconds: 3600 },
  message: 'Too many names looked up in an hour. Try again later, or follow from a paper’s page.',
};

/** A subscriber's votes, newest first, and follows. */
async function interestsOf(repo: InterestRepository, subscriberId: number): Promise<Interests> {
  const [votes, follows] = await Promise.all([repo.listVotes(subscriberId), repo.listFollows(subscriberId)]);
  return { votes: votes.map(({ value, ...v }) => ({ ...v, vote: directionOf(value) })), follows };
}

/** Names a vote page offers to follow: the first authors, then the organization. */
const NAMES_OFFERED = 5;

/**
 * Votes, follows and excluded terms' companions (docs/relevance.md). A vote link is signed for one
 * digest (`vote` token: the delivery's id, in its subscriber's link epoch) and names a paper of
 * it, so a vote is only ever on a paper that subscriber was sent; its GET only shows a page, its
 * POST records. The preferences token lists, undoes and resets votes, and adds and removes
 * follows, through `authorize` (the manage service's check of that token).
 */
export function createInterestService({
  db,
  tokens,
  authorize,
  siteUrl,
  training,
  limiter,
}: {
  db: Db;
  /** Bounds the name lookups a follow by name costs (each reads the names papers carry). */
  limiter: Pick<RateLimiter, 'hitEach'>;
  /** Where a vote asks for the reader's model to be trained again (the `relevance` queue). */
  training: { queues: Pick<Queues, 'add'>; clock: Clock; log: Logger; delaySeconds: number };
  /** The site's address, where a paper without an arXiv id has its page. */
  siteUrl: string;
  tokens: Pick<Tokens, 'open'>;
  authorize: (manageToken: string) => Promise<{ id: number }>;
}) {
  const repo = createInterestRepository(db);

  /**
   * Asks a worker to train the reader's model `delaySeconds` from now, once for a burst of votes
   * (one job id per reader and period). The vote is recorded whatever Redis says: a model not
   * trained after it is trained by the planner.
   */
  async function scheduleTraining(subscriberId: number): Promise<void> {
    const periodMs = Math.max(1, training.delaySeconds) * 1000;
    const jobId = `train_${subscriberId}_${Math.floor(training.clock.now().getTime() / periodMs)}`;
    await training.queues
      .add('relevance', 'train', { subscriberId }, { jobId, delay: training.delaySeconds * 1000 })
      .catch((err) => training.log.warn({ err, subscriberId }, 'model training not queued; planning will train it'));
  }

  /** The paper a vote link names, in the digest it was mailed in. */
  async function delivered(token: string, paperId: number): Promise<DeliveredPaper> {
    const t = tokens.open('vote', token);
    const p = await repo.paperOfDelivery(t.id, paperId);
    if (!p) throw new NotFound('That paper was not in this digest.', 'paper_not_sent');
    if (t.epoch !== p.tokenEpoch) {
      throw new Invalid('This link was signed out by the subscriber it was mailed to.', 'revoked_token');
    }
    return p;
  }

  async function page(p: DeliveredPaper, vote = p.vote): Promise<VotedPaper> {
    const followed = new Set((await repo.listFollows(p.subscriberId)).map((f) => `${f.kind}:${f.nameKey}`));
    const names = [
      ...p.authors.slice(0, NAMES_OFFERED).map((name) => ({ kind: 'author' as const, name })),
      ...(p.organization ? [{ kind: 'organization' as const, name: p.organization }] : []),
    ]
      .filter((n) => nameKey(n.name))
      .map((n) => ({ ...n, followed: followed.has(`${n.kind}:${nameKey(n.name)}`) }));
    return { paperId: p.paperId, title: p.title, names, vote: vote === null ? null : directionOf(vote) };
  }

  /** A name papers carry, as one of them writes it, or a 4xx. */
  async function knownName(kind: FollowKind, name: string): Promise<string> {
    const key = nameKey(name);
    const letters = nameLetters(name);
    if (!key || !letters) throw new Invalid(`"${name}" is not a name Paperboy can follow.`, 'unknown_name');
    const found = (await repo.namesLike(kind, letters)).find((n) => nameKey(n) === key);
    if (!found) {
      throw new NotFound(
        `No paper Paperboy knows lists "${name}" as ${kind === 'author' ? 'an author' : 'its organization'}. Follow a name as a paper writes it.`,
        'unknown_name',
      );
    }
    return found;
  }

  const list = (subscriberId: number) => interestsOf(repo, subscriberId);

  return {
    /** What a vote link's page shows; records nothing. */
    async votePage(token: string, paperId: number): Promise<VotedPaper> {
      return page(await delivered(token, paperId));
    },

    /** Records the vote; a second vote on the same paper replaces the first. */
    async vote(token: string, paperId: number, direction: VoteDirection): Promise<VotedPaper> {
      const p = await delivered(token, paperId);
      const value = VOTE_DIRECTIONS[direction];
      await repo.recordVote(p.subscriberId, p.paperId, value);
      await scheduleTraining(p.subscriberId);
      return page(p, value);
    },

    async undoVote(token: string, paperId: number): Promise<VotedPaper> {
      const p = await delivered(token, paperId);
      await repo.deleteVote(p.subscriberId, p.paperId);
      await scheduleTraining(p.subscriberId);
      return page(p, null);
    },

    /** Follows one of the paper's authors or its organization, named as the paper writes it. */
    async followFromPaper(token: string, paperId: number, raw: unknown): Promise<VotedPaper & { followed: string }> {
      const input = FollowInput.parse(raw);
      const p = await delivered(token, paperId);
      const names = input.kind === 'author' ? p.authors : p.organization ? [p.organization] : [];
      const name = names.find((n) => nameKey(n) === nameKey(input.name));
      if (!name) {
        throw new Invalid(
          `"${input.name}" is not ${input.kind === 'author' ? 'an author' : 'the organization'} of this paper.`,
          'unknown_name',
        );
      }
      await repo.addFollow(p.subscriberId, input.kind, nameKey(name), name);
      return { ...(await page(p)), followed: name };
    },

    // --- behind the preferences token ------------------------------------------------------------

    list: async (manageToken: string) => list((await authorize(manageToken)).id),

    async undo(manageToken: string, paperId: number): Promise<Interests> {
      const s = await authorize(manageToken);
      if (!(await repo.deleteVote(s.id, paperId))) throw new NotFound('There is no vote on that paper.', 'no_vote');
      await scheduleTraining(s.id);
      return list(s.id);
    },

    /** BibTeX of the papers the reader liked ("more like this"), oldest vote first. */
    async likedBibtex(manageToken: string): Promise<{ filename: string; text: string }> {
      const s = await authorize(manageToken);
      return { filename: 'paperboy-liked.bib', text: bibtexOf(siteUrl, await repo.likedCitations(s.id)) };
    },

    async resetVotes(manageToken: string): Promise<Interests> {
      const s = await authorize(manageToken);
      await repo.deleteVotes(s.id);
      await repo.deleteModel(s.id);
      return list(s.id);
    },

    async follow(manageToken: string, raw: unknown): Promise<Interests> {
      const input = FollowInput.parse(raw);
      const s = await authorize(manageToken);
      const [refused] = await limiter.hitEach([NAME_LOOKUPS], [[String(s.id)]]);
      if (refused) throw refused;
      const name = await knownName(input.kind, input.name);
      await repo.addFollow(s.id, input.kind, nameKey(name), name);
      return list(s.id);
    },

    async unfollow(manageToken: string, raw: unknown): Promise<Interests> {
      const input = FollowInput.parse(raw);
      const s = await authorize(manageToken);
      if (!(await repo.deleteFollow(s.id, input.kind, nameKey(input.name)))) {
        throw new NotFound(`You do not follow "${input.name}".`, 'not_following');
      }
      return list(s.id);
    },
  };
}

export type InterestService = ReturnType<typeof createInterestService>;

/** A subscriber's votes, follows and learned model, as their data export holds them. */
export function createInterestExport(db: Db) {
  const repo = createInterestRepository(db);
  return {
    async exportOf(subscriberId: number) {
      const [interests, model] = await Promise.all([interestsOf(repo, subscriberId), repo.modelOf(subscriberId)]);
      // With what Paperboy learned from the votes (docs/relevance.md); null before any vote.
      return { ...interests, model: model ?? null };
    },
  };
}
