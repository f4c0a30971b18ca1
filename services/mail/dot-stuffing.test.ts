import { createRequire } from 'node:module';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stuffDots, withFastDotStuffing } from './dot-stuffing.ts';

// nodemailer's own DATA stream, the reference: its package exports do not name the file.
const require = createRequire(import.meta.url);
const DataStream: new () => Transform & { inByteCount: number; outByteCount: number } = require(
  path.join(path.dirname(require.resolve('nodemailer')), 'smtp-connection', 'data-stream.js'),
);

const through = async (stream: Transform & { inByteCount: number; outByteCount: number }, chunks: Buffer[]) => {
  const out: Buffer[] = [];
  stream.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((r) => stream.on('end', r));
  for (const c of chunks) stream.write(c);
  stream.end();
  await ended;
  return { bytes: Buffer.concat(out).toString('latin1'), in: stream.inByteCount, out: stream.outByteCount };
};

/** A deterministic generator, so a failure names the case that broke. */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe('dot-stuffing', () => {
  it('doubles dots at line starts, including the very first byte and a line that is only a dot', () => {
    expect(stuffDots(Buffer.from('.a\r\nb.\r\n.\r\n..c\r\n'), false)?.toString()).toBe('..a\r\nb.\r\n..\r\n...c\r\n');
    expect(stuffDots(Buffer.from('.x'), 0x0a)?.toString()).toBe('..x');
    expect(stuffDots(Buffer.from('.x'), 0x41)?.toString()).toBe('.x');
    // An LF that completes the previous chunk's CR.
    expect(stuffDots(Buffer.from('\n.x'), 0x0d)?.toString()).toBe('\n..x');
  });

  it('returns the chunk itself when there is nothing to do', () => {
    const chunk = Buffer.from('From: a@b\r\n\r\nbody\r\n');
    expect(stuffDots(chunk, false)).toBe(chunk);
  });

  it('leaves chunks with a bare CR or LF to nodemailer', () => {
    for (const [text, last] of [
      ['a\nb', false],
      ['a\rb', false],
      ['\nb', false],
      ['b', 0x0d],
      ['\r\n\n', false],
    ] as const) {
      expect(stuffDots(Buffer.from(text), last), JSON.stringify(text)).toBeUndefined();
    }
    // A CR at the end of a chunk is judged with the next chunk.
    expect(stuffDots(Buffer.from('a\r'), false)?.toString()).toBe('a\r');
  });

  it('gives byte for byte what nodemailer gives, on random messages cut into random chunks', async () => {
    const next = random(42);
    const alphabet = ['a', 'b', '.', '..', '\r', '\n', '\r\n', '\r\n.', '\r\n..', ' '];
    let handledFast = 0;
    for (let n = 0; n < 1500; n++) {
      // Half the cases use CRLF only, the way Paperboy's messages are built; the rest mix in bare
      // CR and LF, which the fast path hands back to nodemailer's loop.
      const pool = n % 2 ? alphabet : alphabet.filter((s) => s !== '\r' && s !== '\n');
      let text = '';
      const len = 1 + Math.floor(next() * 40);
      for (let i = 0; i < len; i++) text += pool[Math.floor(next() * pool.length)];
      const whole = Buffer.from(text, 'latin1');
      const chunks: Buffer[] = [];
      for (let at = 0; at < whole.length; ) {
        const size = 1 + Math.floor(next() * 12);
        chunks.push(whole.subarray(at, at + size));
        at += size;
      }
      const fast = withFastDotStuffing(new DataStream());
      let last: number | false = false;
      for (const c of chunks) {
        if (stuffDots(c, last)) handledFast++;
        last = c[c.length - 1] as number;
      }
      expect(await through(fast, chunks), JSON.stringify(text)).toEqual(await through(new DataStream(), chunks));
    }
    // The comparison is only worth something if the fast path did most of the CRLF-only work.
    expect(handledFast).toBeGreaterThan(2000);
  });
});
