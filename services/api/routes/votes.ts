import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type InterestService, VOTE_DIRECTIONS, type VoteDirection, type VotedPaper } from '../../interests/service.ts';
import type { ButtonForm, MessagePage, Pages } from '../pages.ts';
import { RowId, TokenParams } from '../schemas.ts';

const HTML = 'text/html; charset=utf-8';

const PaperParams = TokenParams.extend({ paperId: RowId });
const VoteParams = PaperParams.extend({ direction: z.enum(Object.keys(VOTE_DIRECTIONS) as [VoteDirection]) });

const asked: Record<VoteDirection, string> = { more: 'More papers like this?', less: 'Fewer papers like this?' };
const button: Record<VoteDirection, string> = { more: 'Yes, more like this', less: 'Yes, fewer like this' };
const done: Record<VoteDirection, string> = { more: 'more papers like', less: 'fewer papers like' };

/**
 * "More like this" / "Less like this" under every paper of a digest. The GET (a person, or a mail
 * scanner fetching every link) only shows the vote preselected with one button; the button's POST
 * records it. Each page offers to follow the paper's authors and organization.
 */
export const voteRoutes: FastifyPluginAsyncZod<{ pages: Pages; interests: InterestService }> = async (
  app,
  { pages, interests },
) => {
  const page = { config: { page: true }, schema: { hide: true } };
  const base = (token: string, paperId: number) => `/vote/${token}/${paperId}`;

  /** A button per author and for the organization not followed yet, the first saying what following does. */
  const followForms = (token: string, p: VotedPaper): ButtonForm[] =>
    p.names
      .filter((n) => !n.followed)
      .map((n, i) => ({
        action: `${base(token, p.paperId)}/follow`,
        hidden: [
          { name: 'kind', value: n.kind },
          { name: 'name', value: n.name },
        ],
        button: `Follow ${n.name}`,
        intro: i === 0 ? 'Their new papers come first in your digests:' : undefined,
      }));

  app.get(
    '/vote/:token/:paperId/:direction',
    { ...page, schema: { hide: true, params: VoteParams } },
    async (req, reply) => {
      const { token, paperId, direction } = req.params;
      const p = await interests.votePage(token, paperId);
      const body: MessagePage = {
        heading: asked[direction],
        paragraphs: [
          p.title,
          p.vote === direction
            ? 'You already said so; pressing again changes nothing.'
            : 'Paperboy learns from each vote which papers to put first in your digests.',
        ],
        forms: [
          { action: `${base(token, paperId)}/${direction}`, button: button[direction] },
          ...followForms(token, p),
        ],
      };
      return reply.type(HTML).send(pages.render('message', asked[direction], body));
    },
  );

  app.post(
    '/vote/:token/:paperId/:direction',
    { ...page, schema: { hide: true, params: VoteParams } },
    async (req, reply) => {
      const { token, paperId, direction } = req.params;
      const p = await interests.vote(token, paperId, direction);
      const body: MessagePage = {
        heading: 'Thanks, noted',
        paragraphs: [
          `Your digests will bring ${done[direction]} "${p.title}".`,
          'Your votes are listed on your preferences page, where you can undo any of them.',
        ],
        forms: [{ action: `${base(token, paperId)}/undo`, button: 'Undo this vote' }, ...followForms(token, p)],
      };
      return reply.type(HTML).send(pages.render('message', 'Vote recorded', body));
    },
  );

  app.post(
    '/vote/:token/:paperId/undo',
    { ...page, schema: { hide: true, params: PaperParams } },
    async (req, reply) => {
      const p = await interests.undoVote(req.params.token, req.params.paperId);
      return reply.type(HTML).send(
        pages.render('message', 'Vote undone', {
          heading: 'Vote undone',
          paragraphs: [`Your vote on "${p.title}" is gone; your digests no longer count it.`],
        }),
      );
    },
  );

  app.post(
    '/vote/:token/:paperId/follow',
    { ...page, schema: { hide: true, params: PaperParams } },
    async (req, reply) => {
      const { token, paperId } = req.params;
      const p = await interests.followFromPaper(token, paperId, req.body);
      return reply.type(HTML).send(
        pages.render('message', 'Following', {
          heading: `You follow ${p.followed}`,
          paragraphs: [
            'Their new papers come first in your digests, with the reason. Your preferences page lists whom you follow, and stops following with one button.',
          ],
          forms: followForms(token, p),
        }),
      );
    },
  );
};
