import type { Queryable } from '../core/db.ts';
import { createInterestRepository, type PersonalReader } from '../interests/repository.ts';
import { createPaperRepository, topicSetKey } from '../papers/repository.ts';
import type { Pick as RelevancePick } from '../relevance/pick.ts';
import { nameLetters } from '../relevance/text.ts';
import { WINDOW_SAMPLE, RelevanceWindow as Window } from '../relevance/window.ts';

/**
 * The planner's personal path (docs/relevance.md, "Planning"): digests for the subscribers who
 * voted, follow someone or exclude a term, picked in TypeScript by relevance's Picker. Everyone
 * else keeps the SQL path (paperboy_pick_for), untaxed.
 *
 * One RelevanceWindow per planning run: the featurizer fitted on the window's most trending papers
 * (the word weights), and each paper's features computed once however many readers have it among
 * their candidates. Models are trained after votes by the worker (services/interests/trainer.ts);
 * a reader whose votes or topics changed since their stored model was trained (a training job not
 * run yet, or lost) is trained here, and the model stored.
 *
 * A batch costs the same few statements however many of its subscribers are personal: who they
 * are (with their models), their topic sets' lists, the followed names' papers and the papers the
 * window has not seen yet (each once per run), and what each was sent among their candidates.
 * Only a stale model costs statements of its own (its votes, its upsert).
 */

export interface PersonalPick extends RelevancePick {
  subscriberId: number;
}

export function createPersonalPlanning() {
  const windows = new Map<string, Promise<Window>>();

  async function windowFor(db: Queryable, since: Date, runId?: string): Promise<Window> {
    const build = async () => new Window(since, await createPaperRepository(db).relevanceWindow(since, WINDOW_SAMPLE));
    if (!runId) return build();
    let w = windows.get(runId);
    if (!w) {
      w = build();
      windows.set(runId, w);
      w.catch(() => windows.delete(runId));
    }
    return w;
  }

  /** Makes sure every id has a candidate, reading the papers the window has not seen in one query. */
  async function load(db: Queryable, w: Window, ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !w.candidates.has(id));
    if (missing.length === 0) return;
    for (const p of await createPaperRepository(db).relevancePapers(missing)) w.add(p);
  }

  /** Finds the window's papers by any of `names` not looked up yet in this run, in one query. */
  async function findFollowed(db: Queryable, w: Window, names: readonly string[]): Promise<void> {
    const unknown = [...new Set(names.map(nameLetters).filter((l) => l && !w.byName.has(l)))];
    if (unknown.length === 0) return;
    for (const l of unknown) w.byName.set(l, []);
    for (const p of await createPaperRepository(db).windowPapersByNames(w.since, unknown)) {
      w.add(p);
      for (const n of [...p.authors, p.organization ?? '']) w.byName.get(nameLetters(n))?.push(p.id);
    }
  }

  /** The window's papers by any of the followed names (found by findFollowed). */
  const followedPapers = (w: Window, names: readonly string[]): number[] => [
    ...new Set(names.flatMap((n) => w.byName.get(nameLetters(n)) ?? [])),
  ];

  /** The reader's model: the stored one if trained on what they have now, else trained (and stored) now. */
  async function modelOf(db: Queryable, w: Window, r: PersonalReader, store: boolean) {
    if (r.basis === undefined) return undefined;
    if (r.model && r.modelBasis === r.basis) return r.model;
    const interests = createInterestRepository(db);
    const model = w.train(await interests.trainingVotes(r.id), r.topics);
    if (model && store) await interests.saveModel(r.id, model, r.basis);
    return model;
  }

  /**
   * Picks the digests of `subscriberIds`' personal readers; the others get no entry in the
   * returned map and stay with the SQL path.
   */
  async function pick(
    db: Queryable,
    subscriberIds: number[],
    plan: { since: Date; runId?: string; dryRun?: boolean },
  ): Promise<Map<number, PersonalPick[]>> {
    const picks = new Map<number, PersonalPick[]>();
    const readers = await createInterestRepository(db).personalReaders(subscriberIds);
    if (readers.length === 0) return picks;
    const w = await windowFor(db, plan.since, plan.runId);
    const lists = await createPaperRepository(db).rankedListsOf(
      plan.runId,
      readers.map((r) => r.id),
      plan.since,
    );
    // What a reader was sent from the sample's smallest id up is read in one range scan;
    // candidates below it (papers featured again) are probed one by one.
    const from = w.firstId;
    const interests = createInterestRepository(db);
    const followed = (r: PersonalReader) => [...r.followedAuthors, ...r.followedOrganizations];
    await findFollowed(db, w, readers.flatMap(followed));
    const inputs = readers.map((r) => {
      const list = lists.get(topicSetKey(r.topics)) ?? { ids: [], matched: [] };
      const names = followed(r);
      const extra = names.length > 0 ? followedPapers(w, names) : [];
      return { r, list, extra, candidates: [...new Set([...list.ids, ...extra])] };
    });
    await load(
      db,
      w,
      inputs.flatMap((i) => i.candidates),
    );
    const sent = await interests.sentAmong(new Map(inputs.map((i) => [i.r.id, i.candidates])), from);
    for (const { r, list, extra } of inputs) {
      const sentBefore = sent.get(r.id) ?? new Set<number>();
      // A dry run (what `paperboy rank` shows) trains a stale model without storing it.
      const model = await modelOf(db, w, r, !plan.dryRun);
      const chosen = w.picker.pick({
        reader: {
          topics: r.topics,
          maxPapers: r.maxPapers,
          model,
          followedAuthors: r.followedAuthors,
          followedOrganizations: r.followedOrganizations,
          excludedTerms: r.excludedTerms,
        },
        list,
        papers: w.candidates,
        extra,
        isSent: (id) => sentBefore.has(id),
      });
      picks.set(
        r.id,
        chosen.map((p) => ({ ...p, subscriberId: r.id })),
      );
    }
    return picks;
  }

  return {
    pick,
    /** Drops a planning run's window. */
    forget(runId: string) {
      windows.delete(runId);
    },
  };
}

export type PersonalPlanning = ReturnType<typeof createPersonalPlanning>;
