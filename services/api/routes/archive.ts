import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { formatDigestDate, paperUrl } from '../../digests/renderer.ts';
import { archiveDay, archiveDays } from '../../papers/ingest.ts';
import type { AppDeps } from '../app.ts';
import { CalendarDay, TokenParams } from '../schemas.ts';
import { MAIL_HTML_CSP } from '../security.ts';

const HTML = 'text/html; charset=utf-8';
const Day = z.object({ date: CalendarDay });

/** The readers' side on the web: the archive of past days, and each digest's web version. */
export const archiveRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { services, pages }) => {
  const page = { config: { page: true }, schema: { hide: true } };

  app.get('/digests', page, async (_req, reply) => {
    const since = new Date(services.clock.now().getTime() - 60 * 86_400_000);
    const days = (await archiveDays(services.db, since)).map((d) => ({ ...d, label: formatDigestDate(d.day) }));
    return reply.type(HTML).send(pages.render('archive', 'Archive', { days }));
  });

  app.get('/digests/:date', { ...page, schema: { hide: true, params: Day } }, async (req, reply) => {
    const papers = (await archiveDay(services.db, req.params.date)).map((p, i) => ({
      position: i + 1,
      title: p.title,
      reason: p.trend_reason,
      url: paperUrl({ title: p.title, arxivId: p.arxiv_id }),
      summary: p.abstract.length > 300 ? `${p.abstract.slice(0, 297)}…` : p.abstract,
    }));
    // A day nothing became news (before the first paper, or years ahead) is not a page.
    return reply
      .code(papers.length ? 200 : 404)
      .type(HTML)
      .send(
        pages.render('archive-day', formatDigestDate(req.params.date), {
          label: formatDigestDate(req.params.date),
          papers,
        }),
      );
  });

  // "View in browser": the digest as it was mailed, in a page that runs no script.
  app.get(
    '/d/:token',
    { config: { page: true, csp: MAIL_HTML_CSP }, schema: { hide: true, params: TokenParams } },
    async (req, reply) => reply.type(HTML).send(await services.ranking.webVersion(req.params.token)),
  );
};
