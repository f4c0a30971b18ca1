/**
 * Where a process's time went, from a V8 CPU profile (`node --cpu-prof`, as the benchmarks write
 * with BENCH_SERVER_PROFILE=dir or BENCH_WORKER_PROFILE=dir): each sample is charged to the
 * nearest frame on its stack that belongs to a package or to Paperboy's own modules, so native
 * work (a socket write, JSON.stringify) counts for whoever asked for it.
 *
 *   npx tsx bench/profile.ts <file.cpuprofile | dir> [--top 25]
 *
 * The profile samples wall time while the thread runs JavaScript or a call out of it: on a busy
 * machine a process taken off its core inside a system call (a socket write that woke the server
 * at the other end) is charged with the time it waited.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { arg } from './support.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const given = process.argv[2];
if (!given) {
  console.error('usage: npx tsx bench/profile.ts <file.cpuprofile | dir> [--top 25]');
  process.exit(2);
}
// In a directory, the main threads' profiles (CPU.<date>.<time>.<pid>.0.<n>.cpuprofile): tsx's
// loader thread writes one of its own.
const files = statSync(given).isDirectory()
  ? readdirSync(given)
      .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
      .map((f) => path.join(given, f))
  : [given];

/** The package a script belongs to, or Paperboy's module under services/. */
function ownerOf(url: string): string | undefined {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = url.indexOf('/services/');
  return ours >= 0 ? `paperboy: ${url.slice(ours + 1)}` : undefined;
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfTime = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }

  const charged = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfTime) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busy += micros;
    let owner: string | undefined;
    for (let at: number | undefined = id; at !== undefined && !owner; at = parent.get(at)) {
      owner = ownerOf(byId.get(at)?.callFrame.url ?? '');
    }
    const key = owner ?? `node: ${node.callFrame.functionName || '(anonymous)'}`;
    charged.set(key, (charged.get(key) ?? 0) + micros);
  }
  console.log(`${path.basename(file)}: ${(busy / 1e6).toFixed(1)} s busy`);
  for (const [key, micros] of [...charged].sort((a, b) => b[1] - a[1]).slice(0, arg('top', 25))) {
    console.log(
      `${(micros / 1e3).toFixed(0).padStart(8)} ms ${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${key}`,
    );
  }
}
