import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvSchema } from '../services/core/config.ts';
import { ROOT } from '../services/core/paths.ts';
import { NODE_FLAGS } from './support/process.ts';

/**
 * The deployment files, checked without a Docker engine: what `docker compose config` would
 * reject (broken YAML, a missing merge anchor) and what it would not notice (a misspelt Paperboy
 * setting, a role without its variable, Redis allowed to evict BullMQ's keys).
 */
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

describe('docker-compose.yml', () => {
  const { services } = compose;

  it('has the database, the queue, a mail catcher and the three roles from one image', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'mailpit', 'postgres', 'redis', 'scheduler', 'worker']);
    for (const role of ['api', 'worker', 'scheduler']) {
      const s = services[role] as Service;
      expect(s.build).toBe('.');
      expect(s.image).toBe('paperboy:latest');
      expect(s.environment?.ROLES).toBe(role);
      expect(s.depends_on?.postgres?.condition).toBe('service_healthy');
      expect(s.depends_on?.redis?.condition).toBe('service_healthy');
    }
  });

  it('sets only settings Paperboy knows, and the ones every role needs', () => {
    for (const role of ['api', 'worker', 'scheduler']) {
      const env = services[role]?.environment ?? {};
      for (const name of Object.keys(env)) expect(EnvSchema.shape).toHaveProperty(name);
      for (const name of ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'TOKEN_SECRETS', 'PUBLIC_URL', 'MAIL_FROM']) {
        expect(env).toHaveProperty(name);
      }
    }
  });

  it('health-checks every long-running service', () => {
    for (const name of ['postgres', 'redis', 'api', 'worker', 'scheduler']) {
      const check = services[name]?.healthcheck;
      // The roles inherit the image's HEALTHCHECK unless they set their own.
      if (['api'].includes(name)) expect(check?.disable).not.toBe(true);
      else expect(check?.test?.length, name).toBeGreaterThan(0);
    }
  });

  it('keeps Redis from evicting queue keys', () => {
    expect(services.redis?.command?.join(' ')).toContain('--maxmemory-policy noeviction');
  });
});

describe('Dockerfile', () => {
  it('builds in stages, runs as a non-root user, and checks its health', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    for (const dir of ['bin', 'services', 'templates', 'migrations', 'seeds']) {
      expect(dockerfile).toContain(`COPY ${dir} ./${dir}`);
    }
  });
});

describe('Node flags', () => {
  it('are the same for npm start, the image and the processes tests and benchmarks start', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe(`exec node ${NODE_FLAGS.join(' ')} bin/paperboy.mjs start`);
    expect(dockerfile).toMatch(new RegExp(`^ENV .*NODE_OPTIONS=${NODE_FLAGS.join(' ')}$`, 'm'));
  });
});
