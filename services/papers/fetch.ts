import { createReadStream } from 'node:fs';
import { SOURCE_MAX_BYTES } from './limits.ts';

export interface FetchOptions {
  timeoutMs?: number;
  attempts?: number;
  /** First retry delay; each next one doubles, with jitter. */
  baseDelayMs?: number;
  /** The most of a body read; a larger one fails the read. */
  maxBytes?: number;
}

export class SourceUnavailable extends Error {}

/** A response or file larger than a source read takes in: trying again would not change it. */
export class SourceTooLarge extends SourceUnavailable {}

const isUrl = (location: string) => /^https?:\/\//i.test(location);
const megabytes = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

const NETWORK_ERRORS: Record<string, string> = {
  ENOTFOUND: 'host not found (is this machine offline, or its DNS down?)',
  EAI_AGAIN: 'host name lookup failed (is this machine offline?)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENETUNREACH: 'network unreachable (is this machine offline?)',
  EHOSTUNREACH: 'host unreachable',
};

/**
 * Decodes a body as UTF-8 once it has ended, counting bytes as they arrive: past `maxBytes` it stops
 * reading (leaving the loop cancels the stream, which closes the file or the connection).
 */
async function readAtMost(
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
  tooLarge: () => SourceTooLarge,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}

/**
 * Reads a source from a file path or an http(s) URL, at most `maxBytes` of it (default
 * SOURCE_MAX_BYTES): a larger one fails at once, by its Content-Length or by the bytes read,
 * whichever tells first. URLs get a timeout per attempt and retries with exponential backoff on
 * network errors, 429 and 5xx; a 4xx other than 429 fails at once.
 */
export async function readSource(location: string, opts: FetchOptions = {}): Promise<string> {
  const maxBytes = opts.maxBytes ?? SOURCE_MAX_BYTES;
  if (!isUrl(location)) {
    try {
      return await readAtMost(
        createReadStream(location),
        maxBytes,
        () => new SourceTooLarge(`cannot read ${location}: larger than ${megabytes(maxBytes)}`),
      );
    } catch (e) {
      if (e instanceof SourceTooLarge) throw e;
      throw new SourceUnavailable(
        `cannot read ${location}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  const attempts = opts.attempts ?? 3;
  const host = new URL(location).host;
  const tooLarge = (why: string) =>
    new SourceTooLarge(`cannot fetch ${location} (${host}): the response is ${why} ${megabytes(maxBytes)}`);
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
      if (res.ok) {
        const declared = Number(res.headers.get('content-length') ?? 0);
        if (declared > maxBytes) {
          await res.body?.cancel();
          throw tooLarge(`${declared} bytes (Content-Length), more than`);
        }
        // The count covers what a compressed body unpacks to, which its Content-Length does not.
        return res.body ? await readAtMost(res.body, maxBytes, () => tooLarge('larger than')) : '';
      }
      await res.body?.cancel();
      last = `HTTP ${res.status}`;
      if (res.status !== 429 && res.status < 500) break;
    } catch (e) {
      if (e instanceof SourceTooLarge) throw e;
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
