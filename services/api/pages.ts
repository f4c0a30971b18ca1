import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { paths } from '../core/paths.ts';

export type PageName =
  | 'home'
  | 'message'
  | 'manage'
  | 'mailbox'
  | 'mail'
  | 'archive'
  | 'archive-day'
  | 'admin'
  | 'paper';

/** A file the pages load (their stylesheet and script), served at its own URL. */
export interface Asset {
  /** `/assets/<name>.<hash>.<ext>`: a new version has a new URL, so a copy can be kept for good. */
  url: string;
  type: string;
  body: Buffer;
}

const ASSETS = {
  style: { file: 'style.css', type: 'text/css; charset=utf-8' },
  home: { file: 'home.js', type: 'text/javascript; charset=utf-8' },
} as const;

/**
 * HTML pages from `templates/pages`, compiled once; `{{x}}` escapes every value. Styles and
 * scripts live in `templates/pages/assets`, never inline, so the pages' Content-Security-Policy
 * can refuse anything inline.
 */
export function createPages(dir = path.join(paths.templates, 'pages')) {
  const hb = Handlebars.create();
  const load = (name: string) => hb.compile(readFileSync(path.join(dir, `${name}.hbs`), 'utf8'), { strict: false });
  const assets = new Map<string, Asset>();
  const urls: Record<string, string> = {};
  for (const [key, { file, type }] of Object.entries(ASSETS)) {
    const body = readFileSync(path.join(dir, 'assets', file));
    const ext = path.extname(file);
    const url = `/assets/${path.basename(file, ext)}.${createHash('sha256').update(body).digest('hex').slice(0, 12)}${ext}`;
    assets.set(url, { url, type, body });
    urls[key] = url;
  }
  // A paper as the home page's list and its own page show it: one partial for both.
  hb.registerPartial('paper', readFileSync(path.join(dir, 'partials', 'paper.hbs'), 'utf8'));
  const layout = load('layout');
  const pages = new Map<PageName, HandlebarsTemplateDelegate>();
  return {
    render(name: PageName, title: string, data: object = {}): string {
      let page = pages.get(name);
      if (!page) {
        page = load(name);
        pages.set(name, page);
      }
      return layout({ title, assets: urls, body: page({ ...data, assets: urls }) });
    },
    /** The asset served at this URL path, if any. */
    asset: (url: string) => assets.get(url),
  };
}

export type Pages = ReturnType<typeof createPages>;

/** A form of one button that POSTs: every action a link leads to (a GET changes nothing). */
export interface ButtonForm {
  action: string;
  button: string;
  /** A paragraph before the form, saying what the button does. */
  intro?: string;
  hidden?: { name: string; value: string }[];
}

export interface MessagePage {
  heading: string;
  paragraphs: string[];
  isError?: boolean;
  forms?: ButtonForm[];
  links?: { href: string; text: string }[];
}
