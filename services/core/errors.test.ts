import net from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../local/ports.ts';
import { isUnavailable } from './errors.ts';

/**
 * The errors are the real objects pg, pg-pool and ioredis make, from real sockets: servers on
 * loopback that refuse, close, stay silent, or answer a connection the way PostgreSQL does when it
 * will not serve it (an ErrorResponse to the startup message, then the end of the connection).
 * What this machine cannot cause on demand (an unreachable network, a DNS server timing out) is
 * built the way Node builds it. test/backends-terminated.test.ts adds the ones only a real
 * PostgreSQL gives: a terminated backend, a connection limit.
 */
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
});

async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** An ErrorResponse message of the PostgreSQL protocol. */
function errorResponse(severity: string, code: string, message: string): Buffer {
  const fields = Buffer.concat([
    ...Object.entries({ S: severity, V: severity, C: code, M: message }).map(([k, v]) => Buffer.from(`${k}${v}\0`)),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/** A server that answers the startup message with `code` and closes, as PostgreSQL does. */
const refusingPostgres = (code: string, message: string) =>
  listen((socket) => socket.once('data', () => socket.end(errorResponse('FATAL', code, message))));

/** What connecting with pg to `port` fails with. */
async function pgConnectError(port: number, host = '127.0.0.1', opts: pg.ClientConfig = {}): Promise<unknown> {
  const client = new pg.Client({ host, port, user: 'paperboy', database: 'paperboy', ...opts });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    return e;
  } finally {
    await client.end().catch(() => {});
  }
  throw new Error('connected');
}

/** A Node socket error as `net` and `dns` make them. */
const nodeError = (code: string, syscall: string, message: string) =>
  Object.assign(new Error(`${syscall} ${code} ${message}`), { code, syscall, errno: -1 });

describe('isUnavailable', () => {
  it.each([
    ['57P03', 'the database system is starting up'],
    ['57P03', 'the database system is shutting down'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['53300', 'sorry, too many clients already'],
    ['08006', 'connection failure'],
    ['08P01', 'invalid length of startup packet'],
  ])('takes PostgreSQL answering %s (%s) for an outage', async (code, message) => {
    const err = await pgConnectError(await refusingPostgres(code, message));
    expect(err).toMatchObject({ code, message });
    expect(isUnavailable(err)).toBe(true);
  });

  it.each([
    ['28P01', 'password authentication failed for user "paperboy"'],
    ['3D000', 'database "paperboy" does not exist'],
    ['42501', 'permission denied for database paperboy'],
  ])('does not take PostgreSQL refusing with %s (%s) for one', async (code, message) => {
    const err = await pgConnectError(await refusingPostgres(code, message));
    expect(err).toMatchObject({ code, message });
    expect(isUnavailable(err)).toBe(false);
  });

  it('takes a refused connection, an unknown host and a server that hangs up for outages', async () => {
    const refused = await pgConnectError(await freePort());
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    // ENOTFOUND where a resolver answers, EAI_AGAIN where none does: both are outages.
    const unknownHost = await pgConnectError(5432, 'paperboy-db.invalid');
    expect((unknownHost as { code: string }).code).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    const hungUp = await pgConnectError(await listen((socket) => socket.destroy()));
    expect(hungUp).toMatchObject({ message: 'Connection terminated unexpectedly' });
    for (const err of [refused, unknownHost, hungUp]) expect(isUnavailable(err), String(err)).toBe(true);
  });

  it('takes a pool that cannot get a connection in time for an outage', async () => {
    const silent = await listen(() => {});
    const pool = new pg.Pool({ host: '127.0.0.1', port: silent, max: 1, connectionTimeoutMillis: 200 });
    pool.on('error', () => {});
    // The first waits for the silent server; the second for the first's place in the pool.
    const errors = await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')].map((p) => p.catch((e) => e)));
    await pool.end();
    expect(errors.map((e) => e.message).sort()).toEqual([
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
    ]);
    for (const err of errors) expect(isUnavailable(err)).toBe(true);
  });

  it('takes Redis gone for an outage: no connection, closed with commands in flight, out of retries', async () => {
    const offline = new Redis(await freePort(), '127.0.0.1', { lazyConnect: true, enableOfflineQueue: false });
    offline.on('error', () => {});
    const notWriteable = await offline.get('x').catch((e) => e);
    offline.disconnect();
    expect(notWriteable.message).toMatch(/^Stream isn't writeable/);

    const silent = new Redis(await listen(() => {}), '127.0.0.1');
    silent.on('error', () => {});
    const inFlight = silent.get('x').catch((e) => e);
    silent.disconnect();
    const closed = await inFlight;
    expect(closed.message).toBe('Connection is closed.');

    const hangingUp = new Redis(await listen((socket) => socket.destroy()), '127.0.0.1', { maxRetriesPerRequest: 1 });
    hangingUp.on('error', () => {});
    const outOfRetries = await hangingUp.get('x').catch((e) => e);
    hangingUp.disconnect();
    expect(outOfRetries.name).toBe('MaxRetriesPerRequestError');

    for (const err of [notWriteable, closed, outOfRetries]) expect(isUnavailable(err), String(err)).toBe(true);
  });

  it('takes an unreachable host or network, and a resolver that does not answer, for outages', () => {
    for (const err of [
      nodeError('EHOSTUNREACH', 'connect', '10.1.2.3:5432'),
      nodeError('ENETUNREACH', 'connect', '2001:db8::1:5432'),
      nodeError('EAI_AGAIN', 'getaddrinfo', 'postgres'),
      nodeError('ETIMEDOUT', 'connect', '10.1.2.3:5432'),
    ]) {
      expect(isUnavailable(err), err.message).toBe(true);
    }
  });

  it('looks inside an error that wraps the outage', async () => {
    const refused = await pgConnectError(await freePort());
    expect(isUnavailable(new Error('planning failed', { cause: refused }))).toBe(true);
    // What a connection to a name with both an IPv6 and an IPv4 address fails with.
    expect(isUnavailable(new AggregateError([refused, refused], ''))).toBe(true);
  });

  it('takes nothing else for an outage', () => {
    const constraint = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    const badText = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
    for (const err of [
      constraint,
      badText,
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      new Error('no such delivery'),
      'Connection terminated',
      undefined,
      null,
      42,
    ]) {
      expect(isUnavailable(err), String(err)).toBe(false);
    }
  });
});
