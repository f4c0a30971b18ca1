import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotFound } from '../../core/errors.ts';
import { paperUrl } from '../../papers/presentation.ts';
import type { ManageService } from '../../subscribers/manage.ts';
import { TokenParams } from '../schemas.ts';
import { clean, xml } from './feeds.ts';

const day = (d: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' }).format(
    new Date(`${d}T00:00:00Z`),
  );

/** A digest's papers as the HTML content of its feed entry: title (linked), why it is there, abstract. */
const content = (
  publicUrl: string,
  papers: { id: number; title: string; arxiv_id: string | null; abstract: string; reason: string }[],
) =>
  `<ol>${papers
    .map(
      (p) =>
        `<li><a href="${xml(paperUrl(publicUrl, p))}">${xml(clean(p.title))}</a><br><em>${xml(clean(p.reason))}</em><p>${xml(clean(p.abstract))}</p></li>`,
    )
    .join('')}</ol>`;

/**
 * A subscriber's private Atom feed of the digests Paperboy sent them (`/feed/<token>.xml`, linked
 * from their preferences page), for reading them in a feed reader. Its token does only that.
 */
export const readerFeedRoutes: FastifyPluginAsyncZod<{
  manage: Pick<ManageService, 'feed'>;
  publicUrl: string;
}> = async (app, { manage, publicUrl }) => {
  app.get('/feed/:token', { schema: { hide: true, params: TokenParams } }, async (req, reply) => {
    const { token: file } = req.params;
    if (!file.endsWith('.xml')) throw new NotFound('No such feed.');
    const token = file.slice(0, -'.xml'.length);
    const feed = await manage.feed(token);
    const entries = feed.digests.map(
      (d) => `  <entry>
    <id>${xml(d.webVersionUrl)}</id>
    <title>${xml(`Your digest of ${day(d.digest_date)}: ${d.papers.length} ${d.papers.length === 1 ? 'paper' : 'papers'}`)}</title>
    <link href="${xml(d.webVersionUrl)}"/>
    <updated>${d.sent_at.toISOString()}</updated>
    <published>${d.sent_at.toISOString()}</published>
    <content type="html">${xml(content(publicUrl, d.papers))}</content>
  </entry>`,
    );
    return reply.type('application/atom+xml; charset=utf-8').send(`<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${xml(feed.url)}</id>
  <title>Paperboy: your digests</title>
  <author><name>Paperboy</name></author>
  <updated>${feed.updatedAt.toISOString()}</updated>
  <link rel="self" href="${xml(feed.url)}"/>
${entries.join('\n')}
</feed>
`);
  });
};
