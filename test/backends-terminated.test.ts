import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../services/core/db.ts';
import { isUnavailable } from '../services/core/errors.ts';
import { ROOT } from '../services/core/paths.ts';
import { createHarness, eventually, type Harness, pathOf, settled } from './support/harness.ts';
import { createScratchDatabase } from './support/servers.ts';

/**
 * PostgreSQL ending Paperboy's connections under it (an administrator's pg_terminate_backend, a
 * failover, a pooler restarting) in the middle of its work: the work in flight fails as an outage
 * (the api answers 503), this process lives on, and what failed is done by the next run. Vitest
 * reports an uncaught 'error' event or an unhandled rejection as an error of the run, so these
 * tests fail on a process that would have crashed.
 *
 * To end a connection in the middle of a statement, not before or after it, an administrator's
 * transaction holds a lock Paperboy's statement has to wait for; once a Paperboy backend waits,
 * every backend of the database but the administrator's is terminated, and the lock let go.
 */
const TERMINATE = `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
                     FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;

/** Backends of this database other than the administrator's own, in `state` (any state when unset). */
async function backends(admin: pg.Client, where = 'true'): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND ${where}`,
  );
  return rows[0]?.n ?? 0;
}

async function connectAdmin(url: string): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: url, application_name: 'administrator' });
  admin.on('error', () => {});
  await admin.connect();
  return admin;
}

type Outcome<T> = { value: T; error?: undefined } | { value?: undefined; error: unknown };
const outcome = <T>(p: Promise<T>): Promise<Outcome<T>> =>
  p.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );

/**
 * Runs `action` while the administrator holds `hold` (SQL run in an open transaction); once a
 * backend waits on it, terminates every other backend of the database, then lets go. Returns what
 * the action came to and how many backends were terminated.
 */
async function terminateWhileWaiting<T>(
  admin: pg.Client,
  hold: string,
  action: () => Promise<T>,
): Promise<Outcome<T> & { terminated: number }> {
  await admin.query('BEGIN');
  let terminated = 0;
  let result: Promise<Outcome<T>>;
  try {
    await admin.query(hold);
    result = outcome(action());
    await eventually(async () => expect(await backends(admin, "wait_event_type = 'Lock'")).toBeGreaterThan(0));
    terminated = (await admin.query<{ n: number }>(TERMINATE)).rows[0]?.n ?? 0;
  } finally {
    await admin.query('ROLLBACK');
  }
  return { ...(await result), terminated };
}

const expectOutage = (o: Outcome<unknown>) => {
  expect(o.error, 'the action should have failed').toBeDefined();
  expect(isUnavailable(o.error), String(o.error)).toBe(true);
};

describe('a transaction whose backend is terminated', () => {
  let db: Db;
  let admin: pg.Client;
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  const poolErrors: Error[] = [];
  beforeAll(async () => {
    database = await createScratchDatabase(inject('adminDatabaseUrl'), 'paperboy_test');
    db = createDb(database.url, { max: 4, onError: (e) => poolErrors.push(e) });
    admin = await connectAdmin(database.url);
    await admin.query('CREATE TABLE notes (n int)');
  });
  afterAll(async () => {
    await admin?.end();
    await db?.close();
    await database?.drop();
  });

  /**
   * Waits until each idle client among the `terminated` backends (all but the busy one) has
   * reported its loss to the pool, which then drops it: until its report is in, a query may still
   * be lent a client that is gone, and fail as an outage.
   */
  const idleLossesReported = (before: number, terminated: number) =>
    eventually(async () => expect(poolErrors.length).toBeGreaterThanOrEqual(before + terminated - 1));

  /** Every client the pool has, or makes, answers. */
  const poolAnswers = async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => db.query<{ one: number }>('SELECT 1 AS one')));
    expect(answers.map((a) => a.rows[0]?.one)).toEqual(Array(8).fill(1));
    expect(
      await db.tx(async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM notes')).rows[0]?.n),
    ).toBe(0);
  };

  it('between two statements: fails as an outage, rolls back, and the pool lends only working clients', async () => {
    let goOn: () => void = () => {};
    const paused = new Promise<void>((r) => {
      goOn = r;
    });
    const tx = outcome(
      db.tx(async (c) => {
        await c.query('INSERT INTO notes VALUES (1)');
        await paused;
        await c.query('INSERT INTO notes VALUES (2)');
      }),
    );
    await eventually(async () => expect(await backends(admin, "state = 'idle in transaction'")).toBe(1));
    expect((await admin.query<{ n: number }>(TERMINATE)).rows[0]?.n).toBeGreaterThanOrEqual(1);
    await eventually(async () => expect(await backends(admin)).toBe(0));
    goOn();
    expectOutage(await tx);
    await poolAnswers();
  });

  it('during a statement: fails with 57P01, and the next transaction works', async () => {
    const before = poolErrors.length;
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE notes IN SHARE MODE', () =>
      db.tx(async (c) => {
        await c.query('SELECT 1');
        await c.query('INSERT INTO notes VALUES (1)');
      }),
    );
    expect(r.terminated).toBeGreaterThanOrEqual(1);
    expect(r.error).toMatchObject({ code: '57P01' });
    expectOutage(r);
    await idleLossesReported(before, r.terminated);
    await poolAnswers();
  });

  it('a statement outside a transaction fails with 57P01 too, and idle clients lost meanwhile are replaced', async () => {
    await poolAnswers(); // idle clients in the pool, to be terminated with the busy one
    const before = poolErrors.length;
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE notes IN SHARE MODE', () =>
      db.query('INSERT INTO notes VALUES (1)'),
    );
    expect(r.error).toMatchObject({ code: '57P01' });
    expectOutage(r);
    await idleLossesReported(before, r.terminated);
    await poolAnswers();
  });

  it('takes a connection refused for a connection limit for an outage', async () => {
    const role = `paperboy_limited_${Math.random().toString(36).slice(2, 8)}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited' CONNECTION LIMIT 0`);
    try {
      const url = new URL(database.url);
      url.username = role;
      url.password = 'limited';
      const limited = createDb(url.toString(), { max: 1 });
      const r = await outcome(limited.query('SELECT 1'));
      await limited.close();
      expect(r.error).toMatchObject({ code: '53300' });
      expectOutage(r);
    } finally {
      await admin.query(`DROP ROLE ${role}`);
    }
  });
});

/** Active subscribers due at 2026-03-03 08:00 UTC, straight into the table. */
async function addSubscribers(h: Harness, n: number) {
  await h.services.db.query(
    `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
     SELECT 'reader' || i || '@example.org', 'active', 'UTC', 8, '2026-03-03T08:00Z', now()
       FROM generate_series(1, $1::int) AS i`,
    [n],
  );
}

describe('a planning run whose backends are terminated midway', () => {
  const N = 300;
  let h: Harness;
  let admin: pg.Client;
  beforeAll(async () => {
    h = await createHarness({ env: { DIGEST_BATCH_SIZE: '25' } });
    admin = await connectAdmin(h.databaseUrl);
    await addSubscribers(h, N);
  });
  afterAll(async () => {
    await admin?.end();
    await h?.close();
  });

  it('fails as an outage, keeps what it committed, and the next run plans the rest: every digest goes out once', async () => {
    const at = new Date('2026-03-03T08:00:30Z');
    // An uncommitted digest for reader150 holds the batch that plans that reader's. Without the
    // foreign-key check (replica role) it does not lock reader150's row, which the planner would
    // skip rather than wait for.
    const r = await terminateWhileWaiting(
      admin,
      `SET LOCAL session_replication_role = replica;
       INSERT INTO deliveries (subscriber_id, digest_date, due_at)
       SELECT id, '2026-03-03', next_send_at FROM subscribers WHERE email = 'reader150@example.org'`,
      () => h.services.digests.tick(at),
    );
    expect(r.terminated).toBeGreaterThanOrEqual(1);
    expectOutage(r);
    const planned = async () =>
      (await h.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries')).rows[0]?.n ?? 0;
    const before = await planned();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(N);

    const rest = await h.services.digests.tick(at);
    expect(rest.claimed).toBe(N - before);
    expect(await planned()).toBe(N);

    h.clock.set('2026-03-03T08:01:00Z');
    h.startWorkers();
    await eventually(async () => expect(h.sink.messages.length).toBeGreaterThanOrEqual(N));
    await settled(h, 'digest');
    const perReader = new Map<string, number>();
    for (const m of h.sink.messages) for (const to of m.to) perReader.set(to, (perReader.get(to) ?? 0) + 1);
    expect(perReader.size).toBe(N);
    expect([...perReader.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('an ingest whose backends are terminated midway', () => {
  let h: Harness;
  let admin: pg.Client;
  const hf = path.join(ROOT, 'test/fixtures/hf-daily-papers.json');
  beforeAll(async () => {
    h = await createHarness();
    h.clock.set('2026-03-06T12:00:00Z');
    admin = await connectAdmin(h.databaseUrl);
  });
  afterAll(async () => {
    await admin?.end();
    await h?.close();
  });

  it('fails as an outage with nothing half-merged, is recorded as failed, and the next run merges it all', async () => {
    const papers = async () =>
      (await h.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM papers')).rows[0]?.n ?? 0;
    const before = await papers();
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE papers IN SHARE MODE', () =>
      h.services.papers.ingest(hf, 'hf'),
    );
    expectOutage(r);
    expect(await papers()).toBe(before);
    const { rows } = await h.services.db.query('SELECT status FROM ingest_runs ORDER BY id');
    expect(rows).toEqual([{ status: 'failed' }]);

    const again = await h.services.papers.ingest(hf, 'hf');
    expect(again).toMatchObject({ new: 3, updated: 0 });
    expect(await papers()).toBe(before + 3);
  });
});

describe('the api while backends are terminated', () => {
  let h: Harness;
  let admin: pg.Client;
  let api = '';
  beforeAll(async () => {
    h = await createHarness();
    admin = await connectAdmin(h.databaseUrl);
    await addSubscribers(h, 1);
    const id = (await h.services.db.query<{ id: number }>('SELECT id FROM subscribers')).rows[0]?.id as number;
    api = pathOf(h.services.links.manage({ id, token_epoch: 0 }, h.clock.now())).replace(
      '/manage/',
      '/api/subscription/',
    );
  });
  afterAll(async () => {
    await admin?.end();
    await h?.close();
  });

  const patch = (payload: object) => h.app.inject({ method: 'PATCH', url: api, payload });

  it('answers a preferences change cut off midway with 503 and Retry-After, and the next one with 200', async () => {
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE subscribers IN SHARE MODE', () => patch({ maxPapers: 7 }));
    expect(r.value?.statusCode).toBe(503);
    expect(r.value?.headers['retry-after']).toBe('30');
    expect(r.value?.json()).toMatchObject({ error: 'unavailable' });
    const again = await patch({ maxPapers: 7 });
    expect(again.statusCode).toBe(200);
    expect(again.json().preferences).toMatchObject({ maxPapers: 7 });
  });

  it('answers a pause whose transaction is cut off between statements with 503; nothing of it stays', async () => {
    // Pausing moves the subscriber, then cancels their queued digests: the second statement waits.
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE deliveries IN SHARE MODE', () =>
      h.app.inject({ method: 'POST', url: `${api}/pause` }),
    );
    expect(r.value?.statusCode).toBe(503);
    expect((await h.app.inject({ method: 'GET', url: api })).json().status).toBe('active');
    const paused = await h.app.inject({ method: 'POST', url: `${api}/pause` });
    expect(paused.statusCode).toBe(200);
    expect(paused.json().status).toBe('paused');
  });

  it('answers a signup cut off midway with 503, and takes it when asked again', async () => {
    const signup = () =>
      h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email: 'newcomer@example.org' } });
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE subscribers IN SHARE MODE', signup);
    expect(r.value?.statusCode).toBe(503);
    expect((await signup()).statusCode).toBe(202);
  });

  it('answers only 503 among 5xx while backends are terminated again and again, then serves again by itself', async () => {
    const statuses = new Map<number, number>();
    let terminating = true;
    let i = 0;
    const traffic = (async () => {
      while (terminating) {
        i++;
        const answers = await Promise.all([
          patch({ maxPapers: 5 + (i % 5) }),
          h.app.inject({ method: 'POST', url: `${api}/${i % 2 ? 'resume' : 'pause'}` }),
          h.app.inject({ method: 'GET', url: api }),
          h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email: `flood${i}@example.org` } }),
        ]);
        for (const a of answers) statuses.set(a.statusCode, (statuses.get(a.statusCode) ?? 0) + 1);
      }
    })();
    try {
      for (let round = 0; round < 10; round++) {
        // Each time the api has connections again, mostly busy with a statement.
        await eventually(async () => expect(await backends(admin, "state = 'active'")).toBeGreaterThan(0));
        await admin.query(TERMINATE);
      }
    } finally {
      terminating = false;
      await traffic;
    }
    const unexpected = [...statuses].filter(([s]) => s >= 500 && s !== 503);
    expect(unexpected, JSON.stringify([...statuses])).toEqual([]);
    expect(
      [...statuses.keys()].every((s) => [200, 202, 409, 503].includes(s)),
      JSON.stringify([...statuses]),
    ).toBe(true);
    const after = await patch({ maxPapers: 10 });
    expect(after.statusCode).toBe(200);
  });
});

describe('the sweepers while backends are terminated', () => {
  let h: Harness;
  let admin: pg.Client;
  beforeAll(async () => {
    h = await createHarness();
    admin = await connectAdmin(h.databaseUrl);
  });
  afterAll(async () => {
    await admin?.end();
    await h?.close();
  });

  it('a sweep of owed digests cut off midway fails as an outage, and the next one runs', async () => {
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE', () =>
      h.services.digests.sweep(h.clock.now()),
    );
    expectOutage(r);
    expect(await h.services.digests.sweep(h.clock.now())).toBe(0);
  });

  it('a sweep of unsent signups cut off midway fails as an outage, and the next one runs', async () => {
    const r = await terminateWhileWaiting(admin, 'LOCK TABLE subscribers IN ACCESS EXCLUSIVE MODE', () =>
      h.services.signups.sweepUnsent(h.clock.now(), 300),
    );
    expectOutage(r);
    expect(await h.services.signups.sweepUnsent(h.clock.now(), 300)).toBe(0);
  });
});
