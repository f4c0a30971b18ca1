import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSecret } from './tokens.ts';

/**
 * The token secrets: TOKEN_SECRETS when set; otherwise one generated on first start and kept in
 * the data directory, so links stay valid across restarts of a local install.
 */
export function resolveTokenSecrets(configured: string[] | undefined, dataDir: string): string[] {
  if (configured?.length) return configured;
  const file = path.join(dataDir, 'token-secret');
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return [kept];
  } catch {}
  mkdirSync(dataDir, { recursive: true });
  const secret = generateSecret() + generateSecret();
  writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
  chmodSync(file, 0o600);
  return [readFileSync(file, 'utf8').trim()];
}
