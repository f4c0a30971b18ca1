import type { FastifyPluginAsync } from 'fastify';
import { NotFound } from '../../core/errors.ts';
import { listMailbox, readMailboxMessage } from '../../local/mailcatcher.ts';
import type { Pages } from '../pages.ts';
import { FRAMED_MAIL_HTML_CSP, MAIL_VIEW_CSP } from '../security.ts';

const when = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19);

/**
 * The built-in mail catcher's messages, so a local install can read what it sent. They hold
 * working confirmation and preferences links: registered only where nobody else reaches the api
 * (see `mailboxPage` in config.ts).
 */
export const mailboxRoutes: FastifyPluginAsync<{ pages: Pages; dir: string; publicUrl: string }> = async (
  app,
  { pages, dir, publicUrl },
) => {
  const html = 'text/html; charset=utf-8';

  app.get('/mailbox', { config: { page: true } }, async (_req, reply) => {
    const messages = (await listMailbox(dir)).map((m) => ({ ...m, received: when(m.receivedAt) }));
    return reply.type(html).send(pages.render('mailbox', 'Mailbox', { messages }));
  });

  const load = async (id: string) => {
    const m = await readMailboxMessage(dir, id);
    if (!m) throw new NotFound('No such message in the local mailbox.');
    return m;
  };

  app.get<{ Params: { id: string } }>(
    '/mailbox/:id',
    { config: { page: true, csp: MAIL_VIEW_CSP } },
    async (req, reply) => {
      const { parsed } = await load(req.params.id);
      // The links a reader acts on (confirm, unsubscribe) point back at this service.
      const links = [...new Set([...(parsed.text ?? '').matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0]))].filter(
        (l) => l.startsWith(`${publicUrl}/`),
      );
      const headers = [...parsed.headerLines].map((h) => h.line).join('\n');
      return reply.type(html).send(
        pages.render('mail', parsed.subject ?? 'Message', {
          id: req.params.id,
          subject: parsed.subject ?? '(no subject)',
          from: parsed.from?.text ?? '',
          to: [parsed.to ?? []]
            .flat()
            .map((a) => a.text)
            .join(', '),
          received: when(parsed.date ?? new Date()),
          text: parsed.text ?? '',
          links,
          headers,
        }),
      );
    },
  );

  // The message's own HTML, shown in a sandboxed frame that runs no script.
  app.get<{ Params: { id: string } }>(
    '/mailbox/:id/html',
    { config: { csp: FRAMED_MAIL_HTML_CSP } },
    async (req, reply) => {
      const { parsed } = await load(req.params.id);
      return reply.type(html).send(parsed.html || '<p>(no HTML part)</p>');
    },
  );
};
