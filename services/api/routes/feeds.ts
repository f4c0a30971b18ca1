import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import type { PaperCatalog } from '../../papers/catalog.ts';
import { paperUrl } from '../../papers/presentation.ts';
import { Topics } from '../../subscribers/schemas.ts';

const FeedQuery = z.object({
  topics: Topics.optional().describe('Only papers matching any of these keywords, comma separated'),
});

export const xml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
// XML 1.0 forbids most control characters, which a paper's text could carry.
export const clean = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');

/**
 * The trending papers as feeds, for people who prefer a reader to email: Atom at /feed.xml and
 * JSON Feed at /feed.json, optionally narrowed by `?topics=lora,robotics`.
 */
export interface FeedDeps {
  publicUrl: string;
  catalog: Pick<PaperCatalog, 'trending'>;
  clock: Clock;
}

export const feedRoutes: FastifyPluginAsyncZod<FeedDeps> = async (app, { publicUrl: base, catalog, clock }) => {
  const load = (topics: string[] | undefined) => catalog.trending(topics ?? [], 50);
  const selfUrl = (path: string, topics?: string[]) =>
    `${base}${path}${topics?.length ? `?topics=${encodeURIComponent(topics.join(','))}` : ''}`;
  const title = (topics?: string[]) => `Paperboy: trending papers${topics?.length ? ` on ${topics.join(', ')}` : ''}`;
  const id = (p: { id: number; arxiv_id: string | null }) =>
    p.arxiv_id ? `https://arxiv.org/abs/${p.arxiv_id}` : `urn:paperboy:paper:${p.id}`;

  app.get(
    '/feed.xml',
    { schema: { summary: 'Trending papers (Atom)', tags: ['feeds'], querystring: FeedQuery } },
    async (req, reply) => {
      const { topics } = req.query;
      const papers = await load(topics);
      const updated = (papers[0]?.updated_at ?? clock.now()).toISOString();
      const entries = papers.map(
        (p) => `  <entry>
    <id>${xml(id(p))}</id>
    <title>${xml(clean(p.title))}</title>
    <link href="${xml(paperUrl(base, p))}"/>
    <updated>${p.updated_at.toISOString()}</updated>
    <published>${p.fresh_at.toISOString()}</published>
${(p.authors.length ? p.authors : ['Unknown']).map((a) => `    <author><name>${xml(clean(a))}</name></author>`).join('\n')}
${p.categories.map((c) => `    <category term="${xml(clean(c))}"/>`).join('\n')}
    <summary>${xml(clean(`${p.trend_reason ? `${p.trend_reason}. ` : ''}${p.abstract}`))}</summary>
  </entry>`,
      );
      return reply.type('application/atom+xml; charset=utf-8').send(`<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${xml(selfUrl('/feed.xml', topics))}</id>
  <title>${xml(title(topics))}</title>
  <updated>${updated}</updated>
  <link rel="self" href="${xml(selfUrl('/feed.xml', topics))}"/>
  <link rel="alternate" href="${xml(`${base}/`)}"/>
${entries.join('\n')}
</feed>
`);
    },
  );

  app.get(
    '/feed.json',
    { schema: { summary: 'Trending papers (JSON Feed 1.1)', tags: ['feeds'], querystring: FeedQuery } },
    async (req, reply) => {
      const { topics } = req.query;
      const papers = await load(topics);
      return reply.type('application/feed+json; charset=utf-8').send({
        version: 'https://jsonfeed.org/version/1.1',
        title: title(topics),
        home_page_url: `${base}/`,
        feed_url: selfUrl('/feed.json', topics),
        items: papers.map((p) => ({
          id: id(p),
          url: paperUrl(base, p),
          title: p.title,
          content_text: p.abstract,
          summary: p.trend_reason || undefined,
          date_published: p.fresh_at.toISOString(),
          date_modified: p.updated_at.toISOString(),
          authors: p.authors.map((name) => ({ name })),
          tags: p.categories,
        })),
      });
    },
  );
};
