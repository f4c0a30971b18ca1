import { describe, expect, it } from 'vitest';
import { queueRegistry } from './queues.ts';

describe('queue registry', () => {
  const signup = queueRegistry.mail.signup;

  it('carries the replies of a batch of signups by subscriber id', () => {
    expect(signup.parse({ subscriberIds: [3, 1, 2] })).toEqual({ subscriberIds: [3, 1, 2] });
    expect(() => signup.parse({ subscriberIds: [] })).toThrow();
    expect(() => signup.parse({ subscriberIds: [0] })).toThrow();
  });

  it('still reads a reply job queued with a single subscriber id', () => {
    expect(signup.parse({ subscriberId: 7 })).toEqual({ subscriberIds: [7] });
  });
});
