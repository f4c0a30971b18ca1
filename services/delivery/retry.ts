export interface RetryPolicy {
  baseSeconds: number;
  factor: number;
  maxSeconds: number;
}

/**
 * How long to wait before attempt `attempt + 1` after a temporary failure: base × factor^(attempt−1),
 * capped, with ±20% jitter so a failing SMTP server is not hit by every deferred digest at once.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const seconds = Math.min(policy.baseSeconds * policy.factor ** Math.max(attempt - 1, 0), policy.maxSeconds);
  return Math.round(seconds * 1000 * (0.8 + 0.4 * random()));
}
