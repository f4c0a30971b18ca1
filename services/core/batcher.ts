/**
 * Group commit: callers submit one item each and wait for their own answer, while the items that
 * arrive in the same turn of the event loop are handed to `run` together. Under load a turn holds
 * every request whose bytes arrived in it, so one statement and one round trip serve them all;
 * alone, an item waits for no one (it runs on the next turn).
 *
 * `run` answers each item, in order, with a value or an Error (that item fails, the others do
 * not); if `run` throws, every item of the batch fails with that error. Each caller still learns
 * its outcome only once the whole batch is done, so an answer never promises more than was done.
 */
export interface BatchOptions {
  /** Items per run at most. */
  maxSize: number;
  /** Runs in flight at most; items arriving meanwhile wait and form larger batches. */
  maxConcurrent: number;
  /**
   * Starts a run as soon as an item arrives while nothing is in flight, without waiting for the
   * turn to end. For callers that arrive spread out, each one freed by an earlier answer: there a
   * turn gathers nobody else, and waiting for its end only adds latency. Items arriving while runs
   * are in flight still wait and go together.
   */
  startWhenIdle?: boolean;
}

export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

export function createBatcher<I, O>(
  run: (items: I[]) => Promise<Array<O | Error>>,
  opts: BatchOptions = { maxSize: 200, maxConcurrent: 4 },
): Batcher<I, O> {
  let queue: Pending<I, O>[] = [];
  let running = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled || running >= opts.maxConcurrent || queue.length === 0) return;
    if (opts.startWhenIdle && running === 0) return flush();
    scheduled = true;
    setImmediate(flush);
  };

  function flush() {
    scheduled = false;
    while (queue.length > 0 && running < opts.maxConcurrent) {
      const batch = queue.slice(0, opts.maxSize);
      queue = queue.slice(batch.length);
      running++;
      void execute(batch);
    }
  }

  async function execute(batch: Pending<I, O>[]) {
    let answers: Array<O | Error> | undefined;
    let failure: unknown;
    try {
      answers = await run(batch.map((p) => p.item));
      if (answers.length !== batch.length) {
        throw new Error(`batch run answered ${answers.length} of ${batch.length} items`);
      }
    } catch (err) {
      answers = undefined;
      failure = err;
    }
    // The next batch starts (or is scheduled) before this one's callers go on with their work.
    running--;
    schedule();
    for (const [i, p] of batch.entries()) {
      const answer = answers?.[i];
      if (!answers) p.reject(failure);
      else if (answer instanceof Error) p.reject(answer);
      else p.resolve(answer as O);
    }
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}
