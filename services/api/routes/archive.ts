import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { formatDigestDate } from '../../digests/renderer.ts';
import type { PaperCatalog } from '../../papers/catalog.ts';
import { paperUrl } from '../../papers/presentation.ts';
import type { Pages } from '../pages.ts';
import { CalendarDay, TokenParams } from '../schemas.ts';
import { MAIL_HTML_CSP } from '../security.ts';

const HTML = 'text/html; charset=utf-8';
const Day = z.object({ date: CalendarDay });

export interface ArchiveDeps {
  pages: Pages;
  publicUrl: string;
  catalog: Pick<PaperCatalog, 'archiveDays' | 'archiveDay'>;
  /** A mailed digest's web version, behind the token of its link. */
  digests: {
    webVersion(token: string): Promise<string>;
    bibtex(token: string): Promise<{ filename: string; text: string }>;
  };
}

/** The readers' side on the web: the archive of past days, and each digest's web version. */
export const archiveRoutes: FastifyPluginAsyncZod<ArchiveDeps> = async (
  app,
  { pages, publicUrl, catalog, digests },
) => {
  const page = { config: { page: true }, schema: { hide: true } };

  app.get('/digests', page, async (_req, reply) => {
    const days = (await catalog.archiveDays()).map((d) => ({ ...d, label: formatDigestDate(d.day) }));
    return reply.type(HTML).send(pages.render('archive', 'Archive', { days }));
  });

  app.get('/digests/:date', { ...page, schema: { hide: true, params: Day } }, async (req, reply) => {
    const papers = (await catalog.archiveDay(req.params.date)).map((p, i) => ({
      position: i + 1,
      title: p.title,
      reason: p.trend_reason,
      url: paperUrl(publicUrl, p),
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
    async (req, reply) => reply.type(HTML).send(await digests.webVersion(req.params.token)),
  );

  // The web version's papers as BibTeX, a file to save (behind the same token).
  app.get(
    '/d/:token/bibtex',
    { config: { page: true }, schema: { hide: true, params: TokenParams } },
    async (req, reply) => {
      const { filename, text } = await digests.bibtex(req.params.token);
      return reply
        .type('text/x-bibtex; charset=utf-8')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .send(text);
    },
  );
};
