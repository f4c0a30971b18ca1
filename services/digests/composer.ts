import type { Db } from '../core/db.ts';
import { Invalid, NotFound } from '../core/errors.ts';
import { localDay } from '../core/local-day.ts';
import type { Tokens } from '../core/tokens.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import { bibtexOf } from '../papers/bibtex.ts';
import { rankSince } from '../papers/ranking.ts';
import { createPaperRepository } from '../papers/repository.ts';
import type { Links } from '../subscribers/links.ts';
import { createSubscriberRepository } from '../subscribers/repository.ts';
import { Email } from '../subscribers/schemas.ts';
import { createPersonalPlanning } from './personal.ts';
import { renderDigest, renderWebVersion } from './renderer.ts';
import { createDigestStore, type DigestDelivery } from './store.ts';

/**
 * What goes into a subscriber's digest. The planner records picks as it plans; this answers the
 * operator's question "what would this person get, and why?" without recording anything.
 */
export function createComposer({
  db,
  rankWindowDays,
  tokens,
  links,
  templates,
  authorize,
}: {
  /** The manage service's check of a preferences token. */
  authorize: (manageToken: string) => Promise<{ id: number }>;
  db: Db;
  rankWindowDays: number;
  tokens: Tokens;
  links: Links;
  templates: EmailTemplates;
}) {
  const subscribers = createSubscriberRepository(db);
  const papers = createPaperRepository(db);
  const store = createDigestStore(db);
  const personal = createPersonalPlanning();
  /** What the planner would pick for `s` now: the personal path's picks, or the SQL path's. */
  const picksFor = async (subscriberId: number, since: Date) => {
    const mine = (await personal.pick(db, [subscriberId], { since, dryRun: true })).get(subscriberId);
    return mine ? papers.previewPapers(mine) : papers.previewPicks(subscriberId, since);
  };
  const find = async (email: string) => {
    const s = await subscribers.findByEmail(Email.parse(email));
    if (!s) throw new NotFound(`no subscriber with the address ${email}`);
    return s;
  };

  /** What a subscriber would get now, and why, without recording anything. */
  async function preview(email: string, at: Date) {
    const s = await find(email);
    const since = rankSince(at, rankWindowDays);
    const alreadySent = await store.countSentPapers(s.id);
    return {
      email: s.email,
      status: s.status,
      topics: s.topics,
      maxPapers: s.max_papers,
      since,
      alreadySent,
      picks: await picksFor(s.id, since),
    };
  }

  /** A digest as a web page: its papers only, with the mail's vote links when `votesUrl` is given. */
  const webPage = (d: DigestDelivery, votesUrl?: string) =>
    renderWebVersion(
      templates,
      { digestDate: d.digestDate, frequency: d.frequency, papers: d.papers, siteUrl: links.site, votesUrl },
      { homeUrl: links.home, bibtexUrl: links.digestBibtex(d.id, d.tokenEpoch) },
    );

  /** The digest behind a web version's token, while its link works. */
  async function openDigest(token: string) {
    const t = tokens.open('view-digest', token);
    const [d] = await store.load([t.id], true);
    // A note that there was nothing new has no web version (none is linked).
    if (d?.kind !== 'digest') throw new NotFound('This digest is no longer available.', 'digest_gone');
    if (t.epoch !== d.tokenEpoch) {
      throw new Invalid('This link was signed out by the subscriber it was mailed to.', 'revoked_token');
    }
    return d;
  }

  return {
    preview,

    /**
     * A digest's web version, behind the token of its "View in browser" link: the papers only. The
     * link stops working when its subscriber signs out every link, or is erased.
     */
    async webVersion(token: string): Promise<string> {
      return webPage(await openDigest(token));
    },

    /** The BibTeX of a digest's papers, behind the token of its web version, and a file name for it. */
    async bibtex(token: string): Promise<{ filename: string; text: string }> {
      const d = await openDigest(token);
      return {
        filename: `paperboy-${d.digestDate}.bib`,
        text: bibtexOf(links.site, await store.loadCitations(d.id)),
      };
    },

    /**
     * One of the reader's own digests, from their preferences page: the web version with the
     * vote links of the mail, so they can vote from there too.
     */
    async ownWebVersion(manageToken: string, deliveryId: number): Promise<string> {
      const s = await authorize(manageToken);
      const [d] = await store.load([deliveryId], true);
      if (d?.kind !== 'digest' || d.subscriberId !== s.id) {
        throw new NotFound('This digest is no longer available.', 'digest_gone');
      }
      return webPage(d, links.votes(d.id, d.tokenEpoch));
    },

    /**
     * The digest a subscriber would be sent at `at`, rendered (subject, HTML, text), or undefined
     * when there is nothing new for them; records nothing.
     */
    async render(email: string, at: Date) {
      const s = await find(email);
      const picks = await picksFor(s.id, rankSince(at, rankWindowDays));
      if (picks.length === 0) return undefined;
      return renderDigest(templates, {
        email: s.email,
        digestDate: localDay(at, s.timezone),
        frequency: s.frequency,
        sendHour: s.send_hour,
        sendWeekday: s.send_weekday,
        timezone: s.timezone,
        papers: picks,
        siteUrl: links.site,
        unsubscribeUrl: links.unsubscribe(s.id),
        manageUrl: links.manage(s, at),
      });
    },
  };
}
export type Composer = ReturnType<typeof createComposer>;
