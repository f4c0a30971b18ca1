import { describe, expect, it } from 'vitest';
import { PAPER_SOURCES, SCHEDULED_SOURCES } from '../papers/sources/index.ts';
import { ConfigError, EnvSchema, loadConfig } from './config.ts';

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

describe('paper sources', () => {
  const scheduled = SCHEDULED_SOURCES.map((s) => s.name);

  it('reads each registered source from its own setting, with its own default', () => {
    expect(scheduled.length).toBeGreaterThan(0);
    const settings = SCHEDULED_SOURCES.map((s) => s.scheduled.setting);
    expect(new Set(settings).size).toBe(settings.length);
    for (const source of SCHEDULED_SOURCES) {
      const { setting, defaultLocation } = source.scheduled;
      expect(EnvSchema.shape, setting).toHaveProperty(setting);
      expect(loadConfig({ SOURCES: source.name }).sources).toEqual([{ name: source.name, location: defaultLocation }]);
      // Every other source's setting changed: this one's location does not move.
      const others = Object.fromEntries(settings.filter((x) => x !== setting).map((x) => [x, `/elsewhere/${x}`]));
      expect(loadConfig({ SOURCES: source.name, ...others }).sources[0]?.location, source.name).toBe(defaultLocation);
      expect(loadConfig({ SOURCES: source.name, [setting]: `/papers/${source.name}` }).sources).toEqual([
        { name: source.name, location: `/papers/${source.name}` },
      ]);
      expect(problem({ [setting]: '' }), setting).toMatch(new RegExp(`${setting}: `));
    }
  });

  it('schedules the sources marked for it by default, and refuses one that is not registered or not schedulable', () => {
    expect(loadConfig({}).sources.map((s) => s.name)).toEqual(
      SCHEDULED_SOURCES.filter((s) => s.scheduled.byDefault).map((s) => s.name),
    );
    expect(loadConfig({ SOURCES: '' }).sources).toEqual([]);
    expect(loadConfig({ SOURCES: scheduled.join(' , ') }).sources.map((s) => s.name)).toEqual(scheduled);
    for (const source of PAPER_SOURCES.filter((s) => !scheduled.includes(s.name))) {
      expect(problem({ SOURCES: source.name }), source.name).toMatch(/SOURCES/);
    }
    expect(problem({ SOURCES: 'nowhere' })).toMatch(/SOURCES/);
  });
});

describe('retention settings', () => {
  it('keeps completed jobs at least a sweep window, and observations at least two days', () => {
    expect(loadConfig({}).jobRetention).toEqual({
      completed: { count: 1000, age: 3600 },
      failed: { count: 5000, age: 7 * 86_400 },
    });
    // The sweeper names its jobs alike within SWEEP_AFTER_SECONDS: they are kept that long.
    expect(loadConfig({ SWEEP_AFTER_SECONDS: '7200' }).jobRetention.completed.age).toBe(7200);
    expect(loadConfig({ JOBS_KEEP_COMPLETED_HOURS: '3' }).jobRetention.completed.age).toBe(3 * 3600);
    // The trend score reads a day back: a shorter window would change it.
    expect(problem({ RETENTION_OBSERVATIONS_DAYS: '1' })).toMatch(/RETENTION_OBSERVATIONS_DAYS: /);
  });
});
