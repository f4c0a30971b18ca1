import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../services/core/paths.ts';
import { cleanEnv } from './servers.ts';

/**
 * The Node flags Paperboy runs with (`npm start`, the image's NODE_OPTIONS): a heap cap. Left to
 * itself on a machine with a lot of memory, V8 lets the heap grow to gigabytes before collecting
 * in earnest, so a worker's resident memory followed the length of the run; capped, it stays flat
 * (bench/digest-throughput.ts). A worker's live data is a few tens of megabytes.
 */
export const NODE_FLAGS = ['--max-old-space-size=512'];

/** `paperboy start` as its own process, as an operator runs it. */
export class PaperboyProcess {
  exited: Promise<number | null>;
  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  /**
   * Starts it with `env` and resolves once it runs; `echoStderr` passes its logs through,
   * `nodeArgs` go to node itself (e.g. `--cpu-prof`).
   */
  static async start(
    env: Record<string, string>,
    opts: { echoStderr?: boolean; nodeArgs?: string[] } = {},
  ): Promise<PaperboyProcess> {
    const args = [...NODE_FLAGS, ...(opts.nodeArgs ?? []), path.join(ROOT, 'bin/paperboy.mjs'), 'start'];
    const child = spawn(process.execPath, args, {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-4000);
      if (opts.echoStderr) process.stderr.write(d);
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d) => String(d).includes('Paperboy is running') && resolve());
      child.once('exit', (code) => reject(new Error(`paperboy exited with ${code} before running: ${stderr}`)));
    });
    return new PaperboyProcess(child);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Resident memory now (`VmRSS`) or at its peak so far (`VmHWM`), MiB, from /proc. */
  memoryMiB(field: 'VmRSS' | 'VmHWM'): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024);
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and resolves with how long the process took to exit, in ms. */
  async kill(signal: NodeJS.Signals): Promise<number> {
    if (!this.running) return 0;
    const t0 = performance.now();
    this.child.kill(signal);
    await this.exited;
    return performance.now() - t0;
  }
}
