import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../core/errors.ts';
import { errorHandler } from './errors.ts';
import type { Pages } from './pages.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The Content-Security-Policy of this route's HTML, when not PAGE_CSP. */
    csp?: string;
    /**
     * The URL carries a subscriber's token: the answer is kept out of caches and Referer headers.
     * Set by itself on every route with a `:token` parameter.
     */
    token?: boolean;
  }
}

/**
 * Paperboy's own pages: a stylesheet and scripts from /assets, forms posting back here, nothing
 * inline, nothing from elsewhere, no framing.
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The page of one caught message, which frames that message's HTML from /mailbox/:id/html. */
export const MAIL_VIEW_CSP = `${PAGE_CSP}; frame-src 'self'`;

/**
 * A mail's own HTML (a digest's web version): its inline styles and remote images, as a mail
 * client would show them, and never a script.
 */
export const MAIL_HTML_CSP =
  "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A caught message's HTML, shown in a sandboxed frame of the mailbox page and nowhere else. */
export const FRAMED_MAIL_HTML_CSP = MAIL_HTML_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'");

/**
 * The BullMQ dashboard (bull-board) is a script bundle of its own that styles itself inline and
 * loads its fonts from Google; it calls its API on this origin.
 */
export const QUEUE_DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; " +
  "font-src https://fonts.gstatic.com; img-src 'self' data:; connect-src 'self'; base-uri 'self'; " +
  "form-action 'self'; frame-ancestors 'none'";

/**
 * The OpenAPI viewer at /docs (swagger-ui): its own scripts, which style themselves inline and call
 * the API they describe on this origin.
 */
export const API_DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const TOKEN_IN_PATH = /\/:token(\/|$)/;

class CrossOrigin extends AppError {
  constructor() {
    super(
      403,
      'forbidden',
      "This was sent from another site. Paperboy takes changes only from its own pages: open the link you were mailed and use the page's button.",
    );
  }
}

/**
 * Whether a request that changes something was sent by a browser on behalf of another site
 * (a cross-site form post, or a script's request). Browsers say where a request comes from in
 * Sec-Fetch-Site, or, older ones, in Origin; a request with neither is not from a browser (a mail
 * provider's RFC 8058 one-click POST, curl, a JSON client) and is judged by what it carries alone.
 */
export function fromAnotherSite(req: FastifyRequest, trustedOrigin: string): boolean {
  if (SAFE_METHODS.has(req.method)) return false;
  const origin = req.headers.origin;
  if (origin === trustedOrigin) return false;
  const site = req.headers['sec-fetch-site'];
  // `none`: the person asked for it (typed, bookmarked); same-site is still another origin.
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  if (origin === undefined) return false;
  // `null` (a sandboxed frame, a privacy-preserving redirect) names no origin at all.
  return hostOf(origin) !== req.headers.host;
}

const hostOf = (origin: string) => {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
};

/** The policy to send: the route's own, or a page's; framing refused unless it says otherwise. */
function policyFor(reply: FastifyReply, route: string | undefined): string {
  const given = reply.getHeader('content-security-policy');
  const policy = typeof given === 'string' ? given : (route ?? PAGE_CSP);
  return /(^|;)\s*frame-ancestors\s/.test(policy) ? policy : `${policy}; frame-ancestors 'none'`;
}

/**
 * Security headers and cross-site refusals for every route of the app, in one place:
 * - every answer: `X-Content-Type-Options: nosniff`, and `X-Frame-Options: DENY` (SAMEORIGIN for
 *   the one answer the mailbox page frames);
 * - every HTML answer: a Content-Security-Policy, PAGE_CSP unless the route's `config.csp` says
 *   otherwise (or the route set its own header);
 * - every answer of a route with a token in its path (`config.token`): `Referrer-Policy:
 *   no-referrer` and `Cache-Control: no-store`, so the token stays out of other sites' logs and
 *   shared caches;
 * - every request that changes something (not GET, HEAD, OPTIONS) that a browser sends for
 *   another site: 403, before anything is read or done.
 */
const security: FastifyPluginAsync<{ pages: Pages; publicUrl: string }> = async (app, { pages, publicUrl }) => {
  const trustedOrigin = new URL(publicUrl).origin;
  // Answered directly, not thrown: some routes (bull-board's) have an error handler of their own.
  const refuse = errorHandler(pages);

  app.addHook('onRoute', (route) => {
    if (route.config?.token === undefined && TOKEN_IN_PATH.test(route.url ?? route.path ?? '')) {
      route.config = { ...route.config, token: true };
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    if (fromAnotherSite(req, trustedOrigin)) {
      req.log.warn(
        { origin: req.headers.origin, site: req.headers['sec-fetch-site'] },
        'refused a change sent from another site',
      );
      return refuse(new CrossOrigin(), req, reply);
    }
  });

  app.addHook('onSend', (req, reply, _payload, done) => {
    const config = req.routeOptions.config;
    reply.header('x-content-type-options', 'nosniff');
    let frameable = false;
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      const policy = policyFor(reply, config?.csp);
      reply.header('content-security-policy', policy);
      frameable = /frame-ancestors 'self'/.test(policy);
    }
    reply.header('x-frame-options', frameable ? 'SAMEORIGIN' : 'DENY');
    if (config?.token) {
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cache-control', 'no-store');
    }
    done();
  });
};

// Not encapsulated: the hooks must see every route of the app.
export const securityHooks = fp(security, { name: 'paperboy-security' });
