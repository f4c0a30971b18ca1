import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PaperCatalog } from '../../papers/catalog.ts';
import { paperPageUrl, presentPaper } from '../../papers/presentation.ts';
import { PREFERENCE_DEFAULTS, preferenceForm } from '../../subscribers/preferences.ts';
import { Topics } from '../../subscribers/schemas.ts';
import type { Pages } from '../pages.ts';

const HTML = 'text/html; charset=utf-8';

const HomeQuery = z.object({
  topics: Topics.optional(),
  page: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, 'page: expected a number from 1 to 9999')
    .transform(Number)
    .optional(),
});

/** A paper's id in its page's URL: digits, as many as a JavaScript number holds exactly. */
const PaperParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, 'id: expected a paper number')
    .transform(Number),
});

export interface PaperPageDeps {
  pages: Pages;
  publicUrl: string;
  catalog: Pick<PaperCatalog, 'trendingPage' | 'paper'>;
}

/**
 * The papers on the web: the home page (the subscribe form, then the trending list a page at a
 * time, optionally only some topics) and a page for each paper, which is where a paper without
 * an arXiv id links to.
 */
export const paperPageRoutes: FastifyPluginAsyncZod<PaperPageDeps> = async (app, { pages, publicUrl, catalog }) => {
  // The form starts from the defaults a signup without preferences gets.
  const signupForm = preferenceForm(PREFERENCE_DEFAULTS);

  app.get('/', { config: { page: true }, schema: { hide: true, querystring: HomeQuery } }, async (req, reply) => {
    const topics = req.query.topics ?? [];
    const page = req.query.page ?? 1;
    const { papers, more } = await catalog.trendingPage(topics, page);
    const at = (n: number) => {
      const q = new URLSearchParams();
      if (topics.length) q.set('topics', topics.join(','));
      if (n > 1) q.set('page', String(n));
      const s = q.toString();
      return s ? `/?${s}` : '/';
    };
    return reply.type(HTML).send(
      pages.render('home', 'Trending papers in your inbox', {
        ...signupForm,
        // A reader filtering the list likely wants those topics in their digest too.
        topicsValue: topics.join(', '),
        filter: topics.join(', '),
        papers: papers.map((p) => presentPaper(publicUrl, p)),
        page,
        previous: page > 1 ? at(page - 1) : undefined,
        next: more ? at(page + 1) : undefined,
      }),
    );
  });

  app.get(
    '/papers/:id',
    { config: { page: true }, schema: { hide: true, params: PaperParams } },
    async (req, reply) => {
      const paper = await catalog.paper(req.params.id);
      if (!paper) {
        return reply
          .code(404)
          .type(HTML)
          .send(
            pages.render('message', 'Not found', {
              heading: 'No such paper',
              paragraphs: ['Paperboy knows no paper with this number.'],
            }),
          );
      }
      const view = presentPaper(publicUrl, paper);
      // Its own page links everywhere else, not to itself.
      const links = view.links.filter((l) => l.href !== paperPageUrl(publicUrl, paper.id));
      return reply.type(HTML).send(pages.render('paper', paper.title, { paper: { ...view, links } }));
    },
  );
};
