import { loadQueries } from '../core/sql.ts';

/** The named queries of digests.sql: planning, sending, sweeping. */
export const digestSql = loadQueries(new URL('./digests.sql', import.meta.url), [
  'claim-due-subscribers',
  'count-due-subscribers',
  'plan-deliveries',
  'load-deliveries',
  'load-papers',
  'claim-deliveries',
  'release-deliveries',
  'skip-stale-deliveries',
  'settle-left-deliveries',
  'find-owed-deliveries',
  'mark-sent',
  'mark-deferred',
  'mark-relay-down',
  'mark-refused',
  'mark-bounced',
  'count-sent-papers',
]);
