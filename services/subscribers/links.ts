import type { Tokens } from '../core/tokens.ts';

/** The tokenised links Paperboy mails out; the routes that serve them live in the api. */
export function createLinks(publicUrl: string, tokens: Tokens, confirmTtlHours: number) {
  return {
    confirm: (subscriberId: number, now: Date) =>
      `${publicUrl}/confirm/${tokens.sign('confirm', subscriberId, new Date(now.getTime() + confirmTtlHours * 3_600_000))}`,
    unsubscribe: (subscriberId: number) => `${publicUrl}/u/${tokens.sign('unsubscribe', subscriberId)}`,
    manage: (subscriberId: number) => `${publicUrl}/manage/${tokens.sign('manage', subscriberId)}`,
    /** The web version of one digest. */
    viewDigest: (deliveryId: number) => `${publicUrl}/d/${tokens.sign('view-digest', deliveryId)}`,
  };
}

export type Links = ReturnType<typeof createLinks>;
