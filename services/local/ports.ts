import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The local ports the kernel hands to outgoing connections (Linux; the usual range elsewhere). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {}
  return [32768, 60999];
}

/** Binds `port` on loopback (0: any) and lets it go; the port bound, or undefined when taken. */
const probe = (port: number) =>
  new Promise<number | undefined>((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });

/**
 * A TCP port on loopback that nothing listens on right now, for a server started a moment later.
 * It is chosen outside the ephemeral range: a port from inside it can be taken in that moment by
 * any outgoing connection on the machine (a database client, say), and the server then fails to
 * listen.
 */
export async function freePort(): Promise<number> {
  const [lo, hi] = ephemeralRange();
  const [from, to] = lo > 11_000 ? [10_000, lo - 1] : [hi + 1, 65_535];
  for (let i = 0; i < 50 && to - from > 1000; i++) {
    const port = await probe(from + Math.floor(Math.random() * (to - from + 1)));
    if (port) return port;
  }
  const any = await probe(0);
  if (!any) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The parent of a process (Linux), or undefined when it cannot be read. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state, ppid, ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isFinite(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops a server a dead Paperboy process left behind (re-parented to init), waiting up to 10 s.
 * A server whose parent is alive belongs to another running command: that is an error, not an orphan.
 */
export async function stopOrphan(pid: number, what: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isAlive(pid)) return;
  const parent = parentOf(pid);
  if (parent !== undefined && parent !== 1 && isAlive(parent)) {
    throw new Error(
      `${what} is in use by another process (${parent}); run commands beside \`paperboy start\`, or wait for it to finish`,
    );
  }
  process.kill(pid, signal);
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
