import type { Transform, TransformCallback } from 'node:stream';

/**
 * SMTP's DATA phase doubles a dot that starts a line (RFC 5321 §4.5.2). nodemailer's SMTP client
 * does it, and turns bare CR or LF into CRLF, in a JavaScript loop over every byte of every
 * message: about a sixth of the worker's busy time when digests go out by the thousand. The
 * messages Paperboy builds already end every line in CRLF, so all that is left to do is find the
 * dots at line starts, which `Buffer.indexOf` does natively.
 *
 * `stuffDots` handles a chunk when its line endings are all CRLF and leaves anything else to
 * nodemailer's loop; for the chunks it handles, the output is byte for byte what the loop gives
 * (see dot-stuffing.test.ts).
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const DOT_BUFFER = Buffer.from('.');

/**
 * The chunk with every line-leading dot doubled, or undefined when it has a bare CR or LF.
 * `lastByte` is the previous chunk's last byte, false at the start of the message.
 */
export function stuffDots(chunk: Buffer, lastByte: number | false): Buffer | undefined {
  if (chunk.length === 0) return chunk;
  // A CR that ended the previous chunk needs this one to start with its LF, and an LF here needs it.
  if ((lastByte === CR) !== (chunk[0] === LF)) return undefined;
  for (let i = chunk.indexOf(LF, 1); i !== -1; i = chunk.indexOf(LF, i + 1)) {
    if (chunk[i - 1] !== CR) return undefined;
  }
  // A CR as the chunk's last byte is judged with the next chunk, as above.
  for (let i = chunk.indexOf(CR); i !== -1 && i < chunk.length - 1; i = chunk.indexOf(CR, i + 1)) {
    if (chunk[i + 1] !== LF) return undefined;
  }

  const pieces: Buffer[] = [];
  let from = 0;
  if (chunk[0] === DOT && (lastByte === LF || lastByte === false)) pieces.push(DOT_BUFFER);
  for (let i = chunk.indexOf('\n.'); i !== -1; i = chunk.indexOf('\n.', i + 1)) {
    pieces.push(chunk.subarray(from, i + 1), DOT_BUFFER);
    from = i + 1;
  }
  if (pieces.length === 0) return chunk;
  pieces.push(chunk.subarray(from));
  return Buffer.concat(pieces);
}

/** The parts of nodemailer's DataStream the fast path reads and keeps up to date. */
interface DataStream extends Transform {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
  _transform(chunk: Buffer, encoding: BufferEncoding, done: TransformCallback): void;
}

/** Gives a nodemailer DataStream the native path for CRLF-only chunks; other chunks keep its loop. */
export function withFastDotStuffing<T extends Transform>(stream: T): T {
  const s = stream as unknown as DataStream;
  const loop = s._transform;
  s._transform = function (this: DataStream, chunk, encoding, done) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const out = buf.length ? stuffDots(buf, this.lastByte) : undefined;
    if (!out) return loop.call(this, chunk, encoding, done);
    this.inByteCount += buf.length;
    this.outByteCount += out.length;
    this.lastByte = buf[buf.length - 1] as number;
    this.push(out);
    done();
  };
  return stream;
}
