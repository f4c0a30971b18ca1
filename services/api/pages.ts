import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { paths } from '../core/paths.ts';

export type PageName = 'home' | 'message' | 'manage' | 'mailbox' | 'mail' | 'archive' | 'archive-day' | 'admin';

/** HTML pages from `templates/pages`, compiled once; `{{x}}` escapes every value. */
export function createPages(dir = path.join(paths.templates, 'pages')) {
  const hb = Handlebars.create();
  const load = (name: string) => hb.compile(readFileSync(path.join(dir, `${name}.hbs`), 'utf8'), { strict: false });
  const layout = load('layout');
  const pages = new Map<PageName, HandlebarsTemplateDelegate>();
  return {
    render(name: PageName, title: string, data: object = {}): string {
      let page = pages.get(name);
      if (!page) {
        page = load(name);
        pages.set(name, page);
      }
      return layout({ title, body: page(data) });
    },
  };
}

export type Pages = ReturnType<typeof createPages>;

export interface MessagePage {
  heading: string;
  paragraphs: string[];
  isError?: boolean;
  form?: { action: string; button: string };
  links?: { href: string; text: string }[];
}
