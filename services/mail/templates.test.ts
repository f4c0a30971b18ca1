import { describe, expect, it } from 'vitest';
import { renderDigest, renderWebVersion } from '../digests/renderer.ts';
import { createEmailTemplates, safeUrl } from './templates.ts';

describe('email templates', () => {
  const templates = createEmailTemplates();
  const recipient = {
    email: 'reader@example.org',
    digestDate: '2026-03-03',
    frequency: 'daily' as const,
    sendHour: 8,
    sendWeekday: 1,
    timezone: 'Europe/Berlin',
    unsubscribeUrl: 'https://paperboy.example/u/abc',
    manageUrl: 'https://paperboy.example/manage/abc',
    siteUrl: 'https://paperboy.example',
    papers: [
      {
        position: 1,
        id: 7,
        title: 'A & B <i>study</i>',
        abstract: 'Short "quoted" abstract.',
        reason: 'matches: lora',
        arxiv_id: null,
        authors: ['Ada'],
        organization: null,
        ai_summary: null,
        upvotes: null,
        comments: null,
        github_stars: null,
        github_repo: null,
        project_page: null,
      },
    ],
  };

  it('applies the shared partials: fonts, styles and preheader', async () => {
    const { html, subject } = await renderDigest(templates, recipient);
    expect(subject).toBe('1 trending paper today · Tuesday, 3 March');
    expect(html).toContain('Segoe UI');
    expect(html).toContain('.paper-title a');
    expect(html).toContain('A &amp; B &lt;i&gt;study&lt;/i&gt;'); // the preheader and the list
  });

  it('escapes every value in HTML and keeps plain text readable', async () => {
    const { html, text } = await renderDigest(templates, recipient);
    expect(html).not.toContain('<i>study</i>');
    expect(html).toContain('Short &quot;quoted&quot; abstract.');
    expect(text).toContain(
      '1. A & B <i>study</i>\n   Ada\n   Short "quoted" abstract.\n   Why: matches: lora\n   Paper page: https://paperboy.example/papers/7\n',
    );
    expect(text).toContain('every day at 08:00 Europe/Berlin');
    expect(text).toContain('Unsubscribe: https://paperboy.example/u/abc');
  });

  it('writes the web version without the reader: no address, schedule or personal link', async () => {
    const html = await renderWebVersion(templates, recipient, {
      homeUrl: 'https://paperboy.example/',
      bibtexUrl: 'https://paperboy.example/d/xyz/bibtex',
    });
    expect(html).toContain('A &amp; B &lt;i&gt;study&lt;/i&gt;');
    expect(html).toContain('href="https://paperboy.example/"');
    expect(html).toMatch(/<a href="https:\/\/paperboy\.example\/d\/xyz\/bibtex"[^>]*>BibTeX<\/a>/);
    // The mail itself has no BibTeX link: it stays small, and the web version has it.
    expect((await renderDigest(templates, recipient)).html).not.toContain('BibTeX');
    for (const personal of ['reader@example.org', 'Europe/Berlin', '/u/abc', '/manage/abc']) {
      expect(html).not.toContain(personal);
    }
  });

  it('supports dark mode and fetches nothing when opened', async () => {
    for (const { html } of [
      await renderDigest(templates, recipient),
      await templates.render('confirm', {
        email: recipient.email,
        scheduleText: 'every day at 08:00 UTC',
        confirmUrl: 'https://paperboy.example/confirm/abc',
        ttlText: '7 days',
      }),
    ]) {
      expect(html).toContain('<meta name="color-scheme" content="light dark">');
      expect(html).toContain('<meta name="supported-color-schemes" content="light dark">');
      expect(html).toMatch(/@media \(prefers-color-scheme: dark\) \{\s+body, [^{]+ \{ background-color: #0d1117/);
      // The light version sets its own background, so a client that inverts colours has one to invert.
      expect(html).toMatch(/<body[^>]*style="[^"]*background-color:#ffffff/);
      // No web fonts, no images without words, no comments meant for whoever edits the template.
      expect(html).not.toMatch(/<link\b|@import|<img(?![^>]*\balt=)/i);
      expect(html).not.toContain('Both schemes are supported');
    }
  });

  it('writes only http(s) links', () => {
    expect(safeUrl('https://arxiv.org/abs/1')).toBe('https://arxiv.org/abs/1');
    expect(safeUrl('javascript:alert(1)')).toBe('#');
    expect(safeUrl('data:text/html,x')).toBe('#');
  });
});
