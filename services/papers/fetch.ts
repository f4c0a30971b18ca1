import { readFile } from 'node:fs/promises';

export interface FetchOptions {
  timeoutMs?: number;
  attempts?: number;
  /** First retry delay; each next one doubles, with jitter. */
  baseDelayMs?: number;
}

export class SourceUnavailable extends Error {}

const isUrl = (location: string) => /^https?:\/\//i.test(location);

const NETWORK_ERRORS: Record<string, string> = {
  ENOTFOUND: 'host not found (is this machine offline, or its DNS down?)',
  EAI_AGAIN: 'host name lookup failed (is this machine offline?)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENETUNREACH: 'network unreachable (is this machine offline?)',
  EHOSTUNREACH: 'host unreachable',
};

/**
 * Reads a source from a file path or an http(s) URL. URLs get a timeout per attempt and retries
 * with exponential backoff on network errors, 429 and 5xx; a 4xx other than 429 fails at once.
 */
export async function readSource(location: string, opts: FetchOptions = {}): Promise<string> {
  if (!isUrl(location)) {
    try {
      return await readFile(location, 'utf8');
    } catch (e) {
      throw new SourceUnavailable(
        `cannot read ${location}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  const attempts = opts.attempts ?? 3;
  const host = new URL(location).host;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(location, {
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
        headers: {
          'user-agent': 'Paperboy (self-hosted paper digests)',
          accept: 'application/json, application/atom+xml, */*',
        },
      });
      if (res.ok) return await res.text();
      last = `HTTP ${res.status}`;
      if (res.status !== 429 && res.status < 500) break;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      last =
        err.name === 'TimeoutError'
          ? `no answer within ${opts.timeoutMs ?? 15_000} ms`
          : (NETWORK_ERRORS[err.cause?.code ?? ''] ?? err.cause?.code ?? err.cause?.message ?? err.message);
    }
    if (attempt < attempts) {
      const delay = (opts.baseDelayMs ?? 500) * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
    }
  }
  throw new SourceUnavailable(`cannot fetch ${location} (${host}): ${last}`);
}
