import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FollowInput, type InterestService } from '../../interests/service.ts';
import type { ManageService } from '../../subscribers/manage.ts';
import { PreferencesInput } from '../../subscribers/preferences.ts';
import { errors, RowId, SubscriptionBody, TokenParams } from '../schemas.ts';

/** The JSON API behind the preferences link: the token in the path is the subscriber's credential. */
const Taught = z
  .object({
    votes: z.array(
      z.object({
        paperId: z.number(),
        vote: z.enum(['more', 'less']),
        votedAt: z.string(),
        title: z.string(),
        arxivId: z.string().nullable(),
      }),
    ),
    follows: z.array(
      z.object({
        kind: z.enum(['author', 'organization']),
        nameKey: z.string(),
        name: z.string(),
        createdAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'Interests' });

export const manageApiRoutes: FastifyPluginAsyncZod<{
  manage: ManageService;
  interests: Pick<InterestService, 'list' | 'undo' | 'resetVotes' | 'follow' | 'unfollow'>;
}> = async (app, { manage, interests }) => {
  const base = '/api/subscription/:token';
  const tags = ['subscription'];
  const viewSchema = (summary: string, description?: string) => ({
    summary,
    description,
    tags,
    params: TokenParams,
    response: { 200: SubscriptionBody, ...errors(400, 404, 409) },
  });

  app.get(base, { schema: viewSchema('Show a subscription') }, async (req) => manage.view(req.params.token));

  app.patch(
    base,
    {
      schema: {
        ...viewSchema('Change preferences', 'Fields left out keep their value.'),
        body: PreferencesInput,
        response: { 200: SubscriptionBody, ...errors(400, 404, 409, 413, 415) },
      },
    },
    async (req) => manage.updatePreferences(req.params.token, req.body),
  );

  app.post(`${base}/pause`, { schema: viewSchema('Pause digests') }, async (req) => manage.pause(req.params.token));
  app.post(`${base}/resume`, { schema: viewSchema('Resume digests') }, async (req) => manage.resume(req.params.token));
  app.post(`${base}/unsubscribe`, { schema: viewSchema('Unsubscribe at once') }, async (req) =>
    manage.unsubscribe(req.params.token),
  );
  app.post(
    `${base}/resubscribe`,
    { schema: viewSchema('Subscribe again', 'For an address that was confirmed before.') },
    async (req) => manage.resubscribe(req.params.token),
  );
  app.post(
    `${base}/revoke-links`,
    {
      schema: {
        summary: 'Sign out every link',
        description:
          'Every preferences link and digest web version mailed so far stops working, this token included; ' +
          'unsubscribe links keep working. The next digest carries a new preferences link.',
        tags,
        params: TokenParams,
        response: { 200: z.object({ status: z.literal('revoked') }), ...errors(400, 404) },
      },
    },
    async (req) => {
      await manage.revokeLinks(req.params.token);
      return { status: 'revoked' as const };
    },
  );

  const taughtSchema = (summary: string, description?: string) => ({
    summary,
    description,
    tags,
    params: TokenParams,
    response: { 200: Taught, ...errors(400, 404) },
  });
  app.get(
    `${base}/interests`,
    { schema: taughtSchema('List votes and follows', 'Votes come from the links under each paper of a digest.') },
    async (req) => interests.list(req.params.token),
  );
  app.delete(
    `${base}/votes/:paperId`,
    {
      schema: {
        ...taughtSchema('Undo a vote'),
        params: TokenParams.extend({ paperId: RowId }),
      },
    },
    async (req) => interests.undo(req.params.token, req.params.paperId),
  );
  app.delete(`${base}/votes`, { schema: taughtSchema('Forget every vote') }, async (req) =>
    interests.resetVotes(req.params.token),
  );
  app.post(
    `${base}/follows`,
    {
      schema: {
        ...taughtSchema(
          'Follow an author or organization',
          'By name as a paper writes it; a name no paper carries is refused.',
        ),
        body: FollowInput,
      },
    },
    async (req) => interests.follow(req.params.token, req.body),
  );
  app.delete(
    `${base}/follows`,
    { schema: { ...taughtSchema('Stop following an author or organization'), body: FollowInput } },
    async (req) => interests.unfollow(req.params.token, req.body),
  );

  app.get(
    `${base}/export`,
    {
      schema: {
        summary: 'Download everything stored about the subscriber',
        tags,
        params: TokenParams,
        response: { 200: z.record(z.string(), z.unknown()), ...errors(400, 404) },
      },
    },
    async (req, reply) => {
      reply.header('content-disposition', 'attachment; filename="paperboy-data.json"');
      return manage.exportData(req.params.token);
    },
  );

  app.delete(
    base,
    {
      schema: {
        summary: 'Erase the subscriber',
        description:
          'Deletes the subscriber and their history; only a hash of the address is kept so it is not mailed by accident.',
        tags,
        params: TokenParams,
        response: { 200: z.object({ status: z.literal('erased') }), ...errors(400) },
      },
    },
    async (req) => {
      await manage.erase(req.params.token);
      return { status: 'erased' as const };
    },
  );
};
