import { addDays, localDay } from '../core/local-day.ts';
import type { HistoryRow } from './repository.ts';

/** How far back the preferences page looks, in the subscriber's local days (today included). */
export const HISTORY_DAYS = 30;

/** What happened on one of a subscriber's digest days, in the reader's words. */
export interface HistoryDay {
  /** The local day (YYYY-MM-DD). */
  day: string;
  /** `told`: nothing new, and the reader was told so by mail, as they asked. */
  kind: 'sent' | 'told' | 'skipped' | 'paused' | 'pending' | 'failed';
  /** One line: what happened, and why when nothing was sent. */
  text: string;
  /** The web version of a digest that was sent. */
  webVersionUrl?: string;
}

/** The local days the history covers at `now`: the last HISTORY_DAYS, today included. */
export function historyRange(now: Date, timeZone: string) {
  const to = localDay(now, timeZone);
  return { from: addDays(to, 1 - HISTORY_DAYS), to };
}

const papers = (n: number) => (n === 1 ? '1 paper' : `${n} papers`);

/**
 * Says one history row in words. The reasons are those the planner and the sender record in
 * `deliveries.last_error` for a skipped delivery: `no new papers`, `too late: due at …` (after an
 * outage longer than DIGEST_MAX_AGE_HOURS), and the subscriber's status when a planned digest was
 * not sent because they paused or left (`paused`, `not sent: the subscriber is paused`, …).
 */
export function describeDay(
  row: HistoryRow,
  ctx: { hasTopics: boolean; webVersionUrl: (deliveryId: number) => string },
): HistoryDay {
  const day = row.day;
  switch (row.status) {
    case 'sent':
      if (row.kind === 'nothing_new') return { day, kind: 'told', text: 'Nothing new: we told you so by mail' };
      return {
        day,
        kind: 'sent',
        text: `${row.unmailed ? 'In your feed' : 'Sent'}: ${papers(row.paper_count)}`,
        webVersionUrl: row.id === null ? undefined : ctx.webVersionUrl(row.id),
      };
    case 'paused':
      return { day, kind: 'paused', text: 'Not sent: your digests were paused' };
    case 'queued':
    case 'sending':
      if (row.kind === 'nothing_new') return { day, kind: 'pending', text: 'Nothing new: a note is on its way' };
      return { day, kind: 'pending', text: `On its way: ${papers(row.paper_count)}` };
    case 'failed':
      return { day, kind: 'failed', text: 'Not delivered: your mail server refused it' };
    case 'bounced':
      return { day, kind: 'failed', text: 'Not delivered: your mail server said the address does not exist' };
    default:
      return { day, kind: 'skipped', text: skippedText(row.last_error ?? '', ctx.hasTopics) };
  }
}

function skippedText(why: string, hasTopics: boolean): string {
  if (why === 'no new papers') {
    return hasTopics
      ? 'Skipped: nothing new for your topics, nor in the trending list'
      : 'Skipped: nothing new in the trending list';
  }
  if (why.startsWith('too late')) return 'Skipped: too late, after an outage delayed it past its hour';
  if (/\bpaused$/.test(why)) return 'Not sent: your digests were paused';
  if (/\b(unsubscribed|bounced)$/.test(why)) return 'Not sent: you had left';
  return 'Skipped';
}
