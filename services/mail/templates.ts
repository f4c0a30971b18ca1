import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { paths } from '../core/paths.ts';

export type EmailTemplateName = 'confirm' | 'already-subscribed' | 'manage-link' | 'digest' | 'nothing-new';

export interface RenderedEmail {
  html: string;
  text: string;
}

type Fill = (data: object) => string;

/**
 * Email templates: MJML compiled to HTML once per template (the costly step, ~10 ms), leaving
 * Handlebars placeholders that are filled per recipient in microseconds. `{{x}}` escapes HTML, so
 * titles and abstracts cannot inject markup; MJML itself escapes nothing.
 */
export function createEmailTemplates(dir = path.join(paths.templates, 'emails')) {
  const hb = Handlebars.create();
  const compiled = new Map<EmailTemplateName, Promise<{ html: Fill; text: Fill }>>();

  async function compile(name: EmailTemplateName) {
    const file = path.join(dir, `${name}.mjml`);
    // MJML and what it pulls in (juice, posthtml, postcss) cost a second of CPU to load: loaded by
    // the first render, not by every process and CLI command that never renders a mail.
    const { default: mjml2html } = await import('mjml');
    const { html, errors } = await mjml2html(readFileSync(file, 'utf8'), {
      filePath: file,
      // MJML 5 ignores <mj-include> unless told otherwise, and reads only under includePath.
      ignoreIncludes: false,
      includePath: dir,
      validationLevel: 'strict',
      // Comments in the templates are for whoever edits them, not for readers' mail clients.
      keepComments: false,
      // No web-font stylesheet: the font stack is system fonts, and a mail that fetches nothing
      // when opened reads the same with remote content blocked and tells nobody it was opened.
      fonts: {},
    });
    if (errors.length) throw new Error(`${file}: ${errors.map((e) => e.formattedMessage).join('; ')}`);
    const text = readFileSync(path.join(dir, `${name}.txt.hbs`), 'utf8');
    return {
      html: hb.compile(html, { strict: true }) as Fill,
      text: hb.compile(text, { strict: true, noEscape: true }) as Fill,
    };
  }

  return {
    async render(name: EmailTemplateName, data: object): Promise<RenderedEmail> {
      let t = compiled.get(name);
      if (!t) {
        t = compile(name);
        compiled.set(name, t);
        t.catch(() => compiled.delete(name));
      }
      const { html, text } = await t;
      return { html: html(data), text: text(data) };
    },
  };
}

export type EmailTemplates = ReturnType<typeof createEmailTemplates>;

/** Only http(s) links reach a mail; anything else becomes a harmless fragment. */
export function safeUrl(url: string): string {
  return /^https?:\/\//i.test(url) ? url : '#';
}
