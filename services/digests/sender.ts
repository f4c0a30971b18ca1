import type { Db } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import type { Mailer } from '../mail/mailer.ts';
import { SmtpError } from '../mail/mailer.ts';
import type { EmailTemplates } from '../mail/templates.ts';
import type { Links } from '../subscribers/links.ts';
import { digestSql as sql } from './planner.ts';
import { type DigestPaper, renderDigest } from './renderer.ts';

export interface SendReport {
  sent: number;
  /** Temporary failures left queued for a later attempt. */
  deferred: number[];
  /** Temporary failures that used their last attempt. */
  failed: number;
  bounced: number;
  /** Deliveries no longer owed: sent by someone else, or the subscriber left. */
  notOwed: number;
}

interface DeliveryRow {
  id: number;
  digest_date: string;
  subscriber_id: number;
  email: string;
  frequency: 'daily' | 'weekly';
  send_hour: number;
  send_weekday: number;
  timezone: string;
  papers: DigestPaper[];
}

export interface SenderDeps {
  db: Db;
  mailer: Mailer;
  templates: EmailTemplates;
  links: Links;
  log: Logger;
  /** Domain of deterministic Message-IDs. */
  messageIdDomain: string;
  /** Seconds after which a delivery left in `sending` by a dead worker may be taken again. */
  leaseSeconds?: number;
  concurrency?: number;
}

/** Message-ID fixed per (subscriber, digest day): a resend after a crash carries the same id. */
export const digestMessageId = (subscriberId: number, digestDate: string, domain: string) =>
  `<digest.${digestDate}.${subscriberId}@${domain}>`;

/**
 * Sends a batch of planned deliveries. Each delivery is claimed in PostgreSQL right before its
 * message goes out and marked right after, so a batch run twice (a stalled job, a retry) sends
 * each digest once; only a crash between the server's 250 and the commit can repeat one.
 */
export function createDigestSender(deps: SenderDeps) {
  const { db, mailer, templates, links, log, messageIdDomain } = deps;
  const lease = deps.leaseSeconds ?? 300;

  async function sendOne(d: DeliveryRow, lastAttempt: boolean, report: SendReport) {
    const claimed = await db.query(sql['claim-delivery'], [d.id, lease]);
    if (claimed.rowCount === 0) {
      report.notOwed++;
      return;
    }
    const { subject, html, text } = await renderDigest(templates, {
      email: d.email,
      digestDate: d.digest_date,
      frequency: d.frequency,
      sendHour: d.send_hour,
      sendWeekday: d.send_weekday,
      timezone: d.timezone,
      papers: d.papers,
      unsubscribeUrl: links.unsubscribe(d.subscriber_id),
      manageUrl: links.manage(d.subscriber_id),
    });
    try {
      const info = await mailer.send({
        to: d.email,
        subject,
        html,
        text,
        messageId: digestMessageId(d.subscriber_id, d.digest_date, messageIdDomain),
        unsubscribeUrl: links.unsubscribe(d.subscriber_id),
      });
      await db.query(sql['mark-sent'], [d.id, info.messageId, info.response]);
      report.sent++;
    } catch (e) {
      if (e instanceof SmtpError && e.permanent) {
        await db.query(sql['mark-bounced'], [d.id, e.response ?? e.message]);
        report.bounced++;
        log.warn({ delivery: d.id, response: e.response }, 'digest bounced; address suppressed');
        return;
      }
      const message = e instanceof SmtpError ? (e.response ?? e.message) : String(e);
      await db.query(sql['mark-deferred'], [d.id, message, lastAttempt]);
      if (lastAttempt) report.failed++;
      else report.deferred.push(d.id);
      log.warn({ delivery: d.id, err: message, lastAttempt }, 'digest not sent');
    }
  }

  return {
    async sendBatch(ids: number[], opts: { lastAttempt?: boolean } = {}): Promise<SendReport> {
      const report: SendReport = { sent: 0, deferred: [], failed: 0, bounced: 0, notOwed: 0 };
      const rows = (await db.query<DeliveryRow>(sql['load-deliveries'], [ids])).rows;
      report.notOwed += ids.length - rows.length;
      await forEachLimit(rows, deps.concurrency ?? 8, (d) => sendOne(d, opts.lastAttempt ?? false, report));
      return report;
    },
  };
}

export type DigestSender = ReturnType<typeof createDigestSender>;

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
