import { createHash } from 'node:crypto';

/**
 * A small MIME writer for digests: multipart/alternative with a plain-text and an HTML part, both
 * base64. Digests go out by the thousand, and building each message with a general-purpose composer
 * costs several times what the SMTP exchange does; here the headers every digest shares are
 * written once and each recipient costs two base64 encodings and a few string joins.
 */

const CRLF = '\r\n';

/** RFC 2047 encoded words for a header value that is not plain ASCII, split to keep lines short. */
export function encodeHeaderValue(value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  const words: string[] = [];
  let chunk = '';
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join(`${CRLF} `);
}

/** A mailbox header value: the display name encoded when needed, the address as it is. */
export function formatAddress(name: string | undefined, address: string): string {
  if (!name) return address;
  const plain = /^[\w .'-]*$/.test(name)
    ? name
    : /^[\x20-\x7e]*$/.test(name)
      ? `"${name.replace(/["\\]/g, '\\$&')}"`
      : encodeHeaderValue(name);
  return `${plain} <${address}>`;
}

/** RFC 5322 date: "Thu, 26 Nov 2026 15:04:05 +0000". */
export function formatDate(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day}, ${d.getUTCDate()} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Base64 in lines of 76 characters. */
function base64Body(s: string): string {
  const b64 = Buffer.from(s, 'utf8').toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join(CRLF);
}

export interface DigestMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  date: Date;
  /** Per-recipient headers (List-Unsubscribe and the like), already valid header values. */
  headers: [name: string, value: string][];
}

/** Builds raw messages that share their fixed headers (From, Reply-To, List-Id, …). */
export function createMimeWriter(fixed: [name: string, value: string][]) {
  const fixedBlock = [...fixed.map(([k, v]) => `${k}: ${v}`), 'MIME-Version: 1.0'].join(CRLF);
  return (m: DigestMessage): string => {
    const boundary = `=_pb_${createHash('sha1').update(m.messageId).digest('hex').slice(0, 24)}`;
    return [
      fixedBlock,
      `To: ${m.to}`,
      `Subject: ${encodeHeaderValue(m.subject)}`,
      `Date: ${formatDate(m.date)}`,
      `Message-ID: ${m.messageId}`,
      ...m.headers.map(([k, v]) => `${k}: ${v}`),
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      base64Body(m.text),
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      base64Body(m.html),
      `--${boundary}--`,
      '',
    ].join(CRLF);
  };
}
