import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './logger.ts';

describe('logs', () => {
  it('never show a link token', () => {
    expect(redactUrl('/u/1a.2b.AAAAAAAAAAAAAAAAAAAAAA?x=1')).toBe('/u/[token]?x=1');
    expect(redactUrl('/manage/1a..BBBBBBBBBBBBBBBBBBBBBB/export')).toBe('/manage/[token]/export');
    expect(redactUrl('/api/subscription/1a..CCCCCCCCCCCCCCCCCCCCCC/pause')).toBe('/api/subscription/[token]/pause');
    expect(redactUrl('/confirm/x')).toBe('/confirm/[token]');
    expect(redactUrl('/d/x')).toBe('/d/[token]');
    expect(redactUrl('/feed/1a..DDDDDDDDDDDDDDDDDDDDDD.xml')).toBe('/feed/[token]');
    expect(redactUrl('/feed.xml?topics=lora')).toBe('/feed.xml?topics=lora');
    expect(redactUrl('/digests/2026-11-26')).toBe('/digests/2026-11-26');
  });

  it('log requests with their id, without tokens, credentials or client addresses', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = Fastify({ loggerInstance: createLogger('info', 'test', sink) as unknown as FastifyBaseLogger });
    app.get('/u/:token', async (req) => {
      req.log.info({ headers: req.headers }, 'handling');
      return 'ok';
    });
    await app.inject({
      method: 'GET',
      url: '/u/1a.2b.SECRETSECRETSECRETSECRE',
      headers: { authorization: 'Basic YWRtaW46aHVudGVyMg==' },
    });
    const log = lines.join('');
    expect(log).toContain('"url":"/u/[token]"');
    expect(log).toContain('"reqId"');
    expect(log).not.toContain('SECRETSECRET');
    expect(log).not.toContain('YWRtaW46aHVudGVyMg');
    expect(log).not.toContain('remoteAddress');
  });
});
