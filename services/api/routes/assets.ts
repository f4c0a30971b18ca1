import type { FastifyPluginAsync } from 'fastify';
import { NotFound } from '../../core/errors.ts';
import type { Pages } from '../pages.ts';

/** The pages' stylesheet and script. Their URLs name their content, so browsers keep them for good. */
export const assetRoutes: FastifyPluginAsync<{ pages: Pages }> = async (app, { pages }) => {
  app.get<{ Params: { name: string } }>('/assets/:name', { schema: { hide: true } }, async (req, reply) => {
    const asset = pages.asset(`/assets/${req.params.name}`);
    if (!asset) throw new NotFound('No such file.');
    return reply.header('cache-control', 'public, max-age=31536000, immutable').type(asset.type).send(asset.body);
  });
};
