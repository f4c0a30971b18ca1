import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Where `cmd` is on PATH; with `orUsrBin`, also Debian's /usr/bin, which a trimmed PATH (a
 * service manager's, a container's) may lack.
 */
export function which(cmd: string, opts: { orUsrBin?: boolean } = {}): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = `${dir}/${cmd}`;
    if (dir && existsSync(p)) return p;
  }
  if (opts.orUsrBin && existsSync(`/usr/bin/${cmd}`)) return `/usr/bin/${cmd}`;
  return undefined;
}

/**
 * Reads a server child's output as it comes (a pipe left unread fills up and stalls the server),
 * hands each line to `onLine` and keeps the last ones to explain a failed start.
 */
export function tailOutput(child: ChildProcess, onLine: (line: string) => void, keep = 40) {
  const lines: string[] = [];
  let partial = '';
  const read = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.trim()) continue;
      onLine(line);
      lines.push(line);
      if (lines.length > keep) lines.shift();
    }
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const all = () => (partial.trim() ? [...lines, partial] : lines);
  return {
    /** The last line kept that matches `pattern`, trimmed. */
    find: (pattern: RegExp) =>
      [...all()]
        .reverse()
        .find((l) => pattern.test(l))
        ?.trim(),
    /** The last line kept. */
    last: () => all().at(-1)?.trim(),
  };
}
