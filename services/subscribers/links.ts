import type { Tokens } from '../core/tokens.ts';

/** Whose links: the subscriber's id and the link epoch their preferences links are signed in. */
export interface LinkHolder {
  id: number;
  token_epoch: number;
}

const HOUR = 3_600_000;

/**
 * The tokenised links Paperboy mails out; the routes that serve them live in the api. Each link
 * does one thing (README, "Links and tokens"): confirm, unsubscribe, manage, or show one digest.
 */
export function createLinks(publicUrl: string, tokens: Tokens, ttl: { confirmHours: number; manageDays: number }) {
  const manageToken = (s: LinkHolder, now: Date) =>
    tokens.sign('manage', s.id, new Date(now.getTime() + ttl.manageDays * 24 * HOUR), s.token_epoch);
  return {
    home: `${publicUrl}/`,
    /** The site's address, without a trailing slash: pages such as a paper's are under it. */
    site: publicUrl,
    /** How long a preferences link works, in days. */
    manageTtlDays: ttl.manageDays,
    confirm: (subscriberId: number, now: Date) =>
      `${publicUrl}/confirm/${tokens.sign('confirm', subscriberId, new Date(now.getTime() + ttl.confirmHours * HOUR))}`,
    /** Never expires and survives signing out: RFC 8058 expects an old digest's one-click to work. */
    unsubscribe: (subscriberId: number) => `${publicUrl}/u/${tokens.sign('unsubscribe', subscriberId)}`,
    /** The token of a preferences link signed at `now`, for the CLI's own use of the same actions. */
    manageToken,
    manage: (s: LinkHolder, now: Date) => `${publicUrl}/manage/${manageToken(s, now)}`,
    /**
     * The subscriber's private feed of their own digests: no expiry (a feed reader polls for
     * good), signed in their link epoch so that signing out every link ends it.
     */
    feed: (s: LinkHolder) => `${publicUrl}/feed/${tokens.sign('feed', s.id, undefined, s.token_epoch)}.xml`,
    /** The web version of one digest, signed in its subscriber's link epoch `epoch`. */
    viewDigest: (deliveryId: number, epoch: number) =>
      `${publicUrl}/d/${tokens.sign('view-digest', deliveryId, undefined, epoch)}`,
    /** The BibTeX of that digest's papers, behind the same token. */
    digestBibtex: (deliveryId: number, epoch: number) =>
      `${publicUrl}/d/${tokens.sign('view-digest', deliveryId, undefined, epoch)}/bibtex`,
    /**
     * One of the reader's digests as their preferences page links it: the web version with its
     * vote links, behind their preferences token (the shareable web version has no votes).
     */
    ownDigest: (manageToken: string, deliveryId: number) => `${publicUrl}/manage/${manageToken}/digests/${deliveryId}`,
    /**
     * Where the votes under one digest's papers go (`<base>/<paper id>/more` or `/less`): signed
     * for that delivery in its subscriber's link epoch, so a vote names a paper that reader was
     * sent, and signing out every link ends them. No expiry: an old digest's votes keep working.
     */
    votes: (deliveryId: number, epoch: number) =>
      `${publicUrl}/vote/${tokens.sign('vote', deliveryId, undefined, epoch)}`,
  };
}

export type Links = ReturnType<typeof createLinks>;
