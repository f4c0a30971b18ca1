import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const problem = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return undefined;
};

describe('TRUST_PROXY', () => {
  it('takes false, a number of proxies, or their addresses and ranges', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toEqual({ hops: 1 });
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toEqual({ hops: 2 });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.5, 192.168.0.0/16,fd00::/8 ,loopback' }).trustProxy).toEqual({
      proxies: ['10.0.0.5', '192.168.0.0/16', 'fd00::/8', 'loopback'],
    });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/255.0.0.0' }).trustProxy).toEqual({ proxies: ['10.0.0.0/255.0.0.0'] });
  });

  it('refuses true, which would let every client choose its own address, and says what to set', () => {
    expect(problem({ TRUST_PROXY: 'true' })).toMatch(
      /TRUST_PROXY: true would believe any X-Forwarded-For .* set the number of proxies in front of Paperboy \(1 for one reverse proxy\) or their addresses/,
    );
  });

  it('refuses what is not an address', () => {
    for (const bad of ['yes', '10.0.0.300', '10.0.0.0/33', 'fd00::/129', 'proxy.example', '1.2.3.4/8/9', '11']) {
      expect(problem({ TRUST_PROXY: bad }), bad).toMatch(/TRUST_PROXY: /);
    }
  });
});

describe('signup and webhook settings', () => {
  it('caps all signups per window by default, and takes no bearer webhook unless asked', () => {
    const c = loadConfig({});
    expect(c.signupLimits.global).toEqual({ max: 1000, windowSeconds: 3600 });
    expect(c.webhookAllowBearer).toBe(false);
    expect(loadConfig({ WEBHOOK_ALLOW_BEARER: 'true' }).webhookAllowBearer).toBe(true);
    expect(problem({ SIGNUP_LIMIT_GLOBAL: '0' })).toMatch(/SIGNUP_LIMIT_GLOBAL/);
  });
});
