import { type Clock, systemClock } from './core/clock.ts';
import type { Config } from './core/config.ts';
import { createCounters } from './core/counters.ts';
import { createDb } from './core/db.ts';
import type { Logger } from './core/logger.ts';
import { createQueues } from './core/queues.ts';
import { createRateLimiter } from './core/rate-limit.ts';
import { resolveTokenSecrets } from './core/secrets.ts';
import { createTokens } from './core/tokens.ts';
import { createDeliveryEngine } from './delivery/engine.ts';
import { createComposer } from './digests/composer.ts';
import { createEmailChannel } from './digests/email-channel.ts';
import { createPlanner } from './digests/planner.ts';
import { createDigestService } from './digests/service.ts';
import { createDigestStore, feedOnly } from './digests/store.ts';
import { createInterestExport, createInterestService } from './interests/service.ts';
import { createTrainer } from './interests/trainer.ts';
import { createMailer } from './mail/mailer.ts';
import { createRelayBreaker } from './mail/relay-breaker.ts';
import { createEmailTemplates } from './mail/templates.ts';
import { createRetention } from './ops/retention.ts';
import { createOpsService } from './ops/service.ts';
import { createPaperCatalog } from './papers/catalog.ts';
import { createPaperService } from './papers/service.ts';
import { createLinks } from './subscribers/links.ts';
import { createManageService } from './subscribers/manage.ts';
import { createSignupService } from './subscribers/signup.ts';
import { createSignupMailer } from './subscribers/signup-mail.ts';
import { createSuppressionService } from './subscribers/suppressions.ts';

export interface Endpoints {
  databaseUrl: string;
  redisUrl: string;
  smtpUrl: string;
  /** Where the built-in mail catcher keeps messages, when it is in use. */
  mailboxDir?: string;
}

/** The composition root: every service built once from config and the servers' addresses. */
export function composeServices(config: Config, endpoints: Endpoints, log: Logger, clock: Clock = systemClock) {
  const db = createDb(endpoints.databaseUrl, { onError: (e) => log.warn({ err: e }, 'idle database connection lost') });
  const queues = createQueues(endpoints.redisUrl, config.queuePrefix);
  const tokens = createTokens(resolveTokenSecrets(config.tokenSecrets, config.dataDir));
  const links = createLinks(config.publicUrl, tokens, {
    confirmHours: config.confirmTtlHours,
    manageDays: config.manageLinkTtlDays,
  });
  const mailer = createMailer(endpoints.smtpUrl, { from: config.mailFrom, ...config.smtp, dkim: config.dkim });
  const templates = createEmailTemplates();
  const breaker = createRelayBreaker(queues.redis, config.queuePrefix, { probeSeconds: config.relayProbeSeconds });
  const limiter = createRateLimiter(queues.redis, config.queuePrefix);
  const signups = createSignupService({
    db,
    queues,
    tokens,
    clock,
    limiter,
    limits: config.signupLimits,
    blockedDomains: config.blockedEmailDomains,
  });
  const manage = createManageService({ db, tokens, clock, queues, links, interests: createInterestExport(db) });
  const interests = createInterestService({
    db,
    tokens,
    authorize: manage.authorize,
    siteUrl: config.publicUrl,
    training: { queues, clock, log, delaySeconds: config.trainDelaySeconds },
    limiter,
  });
  const suppressions = createSuppressionService({ db, clock });
  const counters = createCounters(queues.redis, config.queuePrefix);
  const signupMails = createSignupMailer({
    db,
    counters,
    mailer,
    templates,
    links,
    clock,
    log,
    confirmTtlHours: config.confirmTtlHours,
  });
  const planner = createPlanner({
    db,
    batchSize: config.digestBatchSize,
    rankWindowDays: config.rankWindowDays,
    maxAgeSeconds: config.digestMaxAgeSeconds,
  });
  const papers = createPaperService({ db, clock, log, sources: config.sources });
  const sender = createDeliveryEngine({
    store: createDigestStore(db),
    channel: createEmailChannel({
      mailer,
      templates,
      links,
      from: config.mailFrom,
      replyTo: config.replyTo,
      unsubscribeMailto: config.unsubscribeMailto,
      feedbackId: config.feedbackId,
    }),
    breaker,
    log,
    retry: config.retry,
    maxAgeSeconds: config.digestMaxAgeSeconds,
    leaseSeconds: config.leaseSeconds,
    withoutChannel: feedOnly,
  });
  const digests = createDigestService({
    db,
    planner,
    sender,
    queues,
    breaker,
    log,
    sendAttempts: config.sendAttempts,
    batchSize: config.digestBatchSize,
    sweepAfterSeconds: config.sweepAfterSeconds,
    leaseSeconds: config.leaseSeconds,
    retry: config.retry,
  });

  return {
    config,
    endpoints,
    log,
    clock,
    db,
    queues,
    tokens,
    links,
    mailer,
    breaker,
    limiter,
    signups,
    manage,
    interests,
    trainer: createTrainer({ db, clock, rankWindowDays: config.rankWindowDays }),
    suppressions,
    signupMails,
    counters,
    planner,
    sender,
    digests,
    papers,
    catalog: createPaperCatalog({ db, clock, rankWindowDays: config.rankWindowDays }),
    ops: createOpsService({ db, clock }),
    ranking: createComposer({
      db,
      rankWindowDays: config.rankWindowDays,
      tokens,
      links,
      templates,
      authorize: manage.authorize,
    }),
    retention: createRetention({
      db,
      queues,
      log,
      policy: { ...config.retention, confirmTtlHours: config.confirmTtlHours, jobs: config.jobRetention },
    }),
    async close() {
      mailer.close();
      await queues.close();
      await db.close();
    },
  };
}

export type Services = ReturnType<typeof composeServices>;
