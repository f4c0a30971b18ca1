import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { rankSince } from '../papers/ranking.ts';
import { createPaperRepository } from '../papers/repository.ts';
import { RelevanceWindow, WINDOW_SAMPLE } from '../relevance/window.ts';
import { createInterestRepository } from './repository.ts';

/** A worker's window is read again once it is this old: new papers bring new words. */
const WINDOW_MAX_AGE_MS = 15 * 60_000;

export type TrainOutcome = 'trained' | 'current' | 'no votes';

/**
 * Trains a reader's model after they vote, in the worker (the `relevance` queue's `train` job), so
 * the planning burst finds it stored and only picks. The model is trained on what the reader has
 * when the job runs, and stored with that `basis`: a vote cast meanwhile leaves it stale, and the
 * next job, or the planner, trains again. The window's word weights are read once per
 * WINDOW_MAX_AGE_MS per worker.
 */
export function createTrainer({ db, clock, rankWindowDays }: { db: Db; clock: Clock; rankWindowDays: number }) {
  const interests = createInterestRepository(db);
  let cached: { at: number; window: Promise<RelevanceWindow> } | undefined;

  function windowNow(): Promise<RelevanceWindow> {
    const now = clock.now();
    if (!cached || now.getTime() - cached.at > WINDOW_MAX_AGE_MS || now.getTime() < cached.at) {
      const since = rankSince(now, rankWindowDays);
      const window = createPaperRepository(db)
        .relevanceWindow(since, WINDOW_SAMPLE)
        .then((sample) => new RelevanceWindow(since, sample));
      cached = { at: now.getTime(), window };
      window.catch(() => {
        if (cached?.window === window) cached = undefined;
      });
    }
    return cached.window;
  }

  return {
    async train(subscriberId: number): Promise<TrainOutcome> {
      const [reader] = await interests.personalReaders([subscriberId]);
      if (!reader || reader.basis === undefined) {
        await interests.deleteModel(subscriberId);
        return 'no votes';
      }
      if (reader.model && reader.modelBasis === reader.basis) return 'current';
      const window = await windowNow();
      const model = window.train(await interests.trainingVotes(subscriberId), reader.topics);
      if (model) await interests.saveModel(subscriberId, model, reader.basis);
      return model ? 'trained' : 'no votes';
    },
  };
}

export type Trainer = ReturnType<typeof createTrainer>;
