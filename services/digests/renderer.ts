import { localTime } from '../core/local-day.ts';
import type { EmailTemplates, RenderedEmail } from '../mail/templates.ts';
import { safeUrl } from '../mail/templates.ts';
import { type PaperFacts, presentPaper } from '../papers/presentation.ts';
import { describeSchedule } from '../subscribers/preferences.ts';

/** A paper in a digest: what readers are shown of it, its place, and why this reader gets it. */
export interface DigestPaper extends PaperFacts {
  position: number;
  reason: string;
}

/** What a digest shows, whoever reads it. */
export interface DigestContent {
  digestDate: string;
  frequency: 'daily' | 'weekdays' | 'weekly';
  papers: DigestPaper[];
  /** The site's address (no trailing slash): a paper without an arXiv id links to its page there. */
  siteUrl: string;
  /** Where this digest's votes go (Links.votes): set, each paper has "More/Less like this" links. */
  votesUrl?: string;
}

/** A digest as mailed: the content, and what belongs to its reader (address, schedule, links). */
export interface DigestRecipient extends DigestContent {
  email: string;
  sendHour: number;
  sendWeekday: number;
  timezone: string;
  unsubscribeUrl: string;
  manageUrl: string;
  /** The digest's web version. */
  viewUrl?: string;
}

// One formatter for every digest: toLocaleDateString builds a new one on each call, which showed
// as 7% of the send side's CPU profile.
const digestDateFormat = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

export function formatDigestDate(isoDate: string): string {
  return digestDateFormat.format(new Date(`${isoDate}T12:00:00Z`));
}

/**
 * How much of an abstract a digest item shows: most whole (arXiv caps them at 1,920 characters),
 * and 25 papers stay under Gmail's 102 KB clipping (test/digest-content.test.ts measures it).
 */
const ABSTRACT_CHARS = 800;

function summarize(abstract: string, max = ABSTRACT_CHARS): string {
  if (abstract.length <= max) return abstract;
  const cut = abstract.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), max - 40))}…`;
}

/** When a reader's digests arrive, in words. */
const scheduleOf = (r: Pick<DigestRecipient, 'frequency' | 'sendHour' | 'sendWeekday' | 'timezone'>) =>
  describeSchedule({ frequency: r.frequency, hour: r.sendHour, weekday: r.sendWeekday, timezone: r.timezone });

export function digestSubject(r: Pick<DigestRecipient, 'papers' | 'digestDate' | 'frequency'>): string {
  const n = r.papers.length;
  const when = formatDigestDate(r.digestDate).replace(/ \d{4}$/, '');
  return `${n} trending paper${n === 1 ? '' : 's'} ${r.frequency === 'weekly' ? 'this week' : 'today'} · ${when}`;
}

function contentData(c: DigestContent) {
  return {
    subject: digestSubject(c),
    preheader: c.papers
      .slice(0, 2)
      .map((p) => p.title)
      .join(' · '),
    heading: c.frequency === 'weekly' ? 'Trending papers this week' : 'Trending papers today',
    dateText: formatDigestDate(c.digestDate),
    papers: c.papers.map((p) => {
      const view = presentPaper(c.siteUrl, p, p.reason);
      return {
        ...view,
        position: p.position,
        url: safeUrl(view.url),
        byline: [view.authors, view.organization].filter(Boolean).join(' · '),
        abstract: summarize(view.abstract),
        links: view.links.map((l) => ({ ...l, href: safeUrl(l.href) })),
        voteMore: c.votesUrl ? safeUrl(`${c.votesUrl}/${p.id}/more`) : undefined,
        voteLess: c.votesUrl ? safeUrl(`${c.votesUrl}/${p.id}/less`) : undefined,
      };
    }),
  };
}

export async function renderDigest(
  templates: EmailTemplates,
  r: DigestRecipient,
): Promise<RenderedEmail & { subject: string }> {
  const content = contentData(r);
  const rendered = await templates.render('digest', {
    ...content,
    web: false,
    homeUrl: undefined,
    bibtexUrl: undefined,
    email: r.email,
    scheduleText: scheduleOf(r),
    unsubscribeUrl: safeUrl(r.unsubscribeUrl),
    manageUrl: safeUrl(r.manageUrl),
    viewUrl: r.viewUrl ? safeUrl(r.viewUrl) : undefined,
  });
  return { ...rendered, subject: content.subject };
}

/** What the note of a day with nothing new says, in one line. */
export function nothingNewLine(r: {
  frequency: DigestContent['frequency'];
  hasTopics: boolean;
  timezone: string;
  nextDigestAt: Date | null;
}): string {
  const when = r.frequency === 'weekly' ? 'this week' : 'today';
  const what = r.hasTopics ? `Nothing new matched your topics ${when}` : `Nothing new in the trending list ${when}`;
  return r.nextDigestAt ? `${what}; your next digest is at ${localTime(r.nextDigestAt, r.timezone)}.` : `${what}.`;
}

/**
 * The note a reader who asked for it gets instead of silence on a day with nothing new: one line,
 * with the links and headers every digest has.
 */
export async function renderNothingNew(
  templates: EmailTemplates,
  r: Omit<DigestRecipient, 'papers' | 'siteUrl'> & { hasTopics: boolean; nextDigestAt: Date | null },
): Promise<RenderedEmail & { subject: string }> {
  const subject = `Nothing new ${r.frequency === 'weekly' ? 'this week' : 'today'} · ${formatDigestDate(r.digestDate).replace(/ \d{4}$/, '')}`;
  const rendered = await templates.render('nothing-new', {
    subject,
    line: nothingNewLine(r),
    dateText: formatDigestDate(r.digestDate),
    email: r.email,
    scheduleText: scheduleOf(r),
    unsubscribeUrl: safeUrl(r.unsubscribeUrl),
    manageUrl: safeUrl(r.manageUrl),
  });
  return { ...rendered, subject };
}

/**
 * A digest's web version: the link people share, so it shows the papers only (and a link to their
 * BibTeX). No address, no schedule, no preferences or unsubscribe link: whoever it is shared with
 * gets no hold on the subscription.
 */
export async function renderWebVersion(
  templates: EmailTemplates,
  c: DigestContent,
  urls: { homeUrl: string; bibtexUrl: string },
): Promise<string> {
  const { html } = await templates.render('digest', {
    ...contentData(c),
    web: true,
    homeUrl: safeUrl(urls.homeUrl),
    bibtexUrl: safeUrl(urls.bibtexUrl),
    email: undefined,
    scheduleText: undefined,
    unsubscribeUrl: undefined,
    manageUrl: undefined,
    viewUrl: undefined,
  });
  return html;
}
