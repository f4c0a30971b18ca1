import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../services/core/paths.ts';
import { freePort } from '../../services/local/ports.ts';
import {
  createHarness,
  eventually,
  type Harness,
  linkIn,
  parse,
  pathOf,
  subscribeAndConfirm,
} from '../support/harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_PASSWORD = 'browser test admin password';
const ARTIFACTS = path.join(ROOT, 'test-results');
// CI installs Chromium and sets REQUIRE_BROWSER so that a missing browser fails instead of skipping.
const haveBrowser = existsSync(CHROMIUM) || process.env.REQUIRE_BROWSER === '1';
if (!haveBrowser) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

interface Looks {
  /** Computed colours: the body's background, the background actually behind the element looked at
   * (its own or the nearest ancestor's that is not see-through), and the element's text. */
  body: string;
  background: string;
  text: string;
  /** How wide the document is: wider than the window means a horizontal scroll bar. */
  scrollWidth: number;
}

/** How the page in `p` looks to a reader (evaluated as a string: these files have no DOM types). */
async function looks(p: Page, selector = 'body'): Promise<Looks> {
  return (await p.evaluate(`(() => {
    const el = document.querySelector(${JSON.stringify(selector)}) ?? document.body;
    let behind = el;
    while (behind.parentElement && getComputedStyle(behind).backgroundColor === 'rgba(0, 0, 0, 0)') {
      behind = behind.parentElement;
    }
    return {
      body: getComputedStyle(document.body).backgroundColor,
      background: getComputedStyle(behind).backgroundColor,
      text: getComputedStyle(el).color,
      scrollWidth: document.documentElement.scrollWidth,
    };
  })()`)) as Looks;
}

/** Perceived lightness (0 black … 255 white) of an opaque CSS colour; undefined when see-through. */
function lightness(color: string): number | undefined {
  const [r = 0, g = 0, b = 0, a = 1] = (color.match(/[\d.]+/g) ?? []).map(Number);
  if (a < 1) return undefined;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const dark = (color: string) => (lightness(color) ?? 255) < 60;
const light = (color: string) => (lightness(color) ?? 0) > 200;

/** The pages in a real browser with JavaScript turned off: every step is a plain form. */
describe.skipIf(!haveBrowser)('pages in a browser without JavaScript', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  /** The same reader with the system set to dark. */
  let darkPage: Page;
  let base = '';
  const email = 'browser@example.org';
  /** The newest mail to the test's reader. */
  const newest = () => parse(h.sink.to(email).at(-1)!);

  beforeAll(async () => {
    // Links in mail point at the real server, so the browser can follow them from the mailbox page
    // and from the digest itself; the mail catcher keeps its messages for that page.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await createHarness({ mailbox: true, env: { PUBLIC_URL: base, ADMIN_PASSWORD } });
    h.startWorkers();
    await h.app.listen({ port, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await (await browser.newContext({ javaScriptEnabled: false, colorScheme: 'light' })).newPage();
    darkPage = await (await browser.newContext({ javaScriptEnabled: false, colorScheme: 'dark' })).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const open = (url: string) => page.goto(`${base}${pathOf(url)}`);
  const heading = () => page.locator('h1').first().textContent();

  it('signs up with the form, preferences included', async () => {
    await page.goto(`${base}/`);
    await page.fill('#email', email);
    await page.click('summary');
    await page.fill('#topics', 'LoRA, robotics');
    await page.selectOption('#hour', '7');
    await page.fill('#timezone', 'Europe/Berlin');
    await page.click('button[type=submit]');
    expect(await heading()).toBe('Almost there');
    await eventually(async () => expect(h.sink.to(email)).toHaveLength(1));
  });

  it('reads the confirmation on the local mailbox page and follows its link from there', async () => {
    await page.goto(`${base}/mailbox`);
    expect(await heading()).toBe('Local mailbox');
    await page.click('a:has-text("Confirm your Paperboy subscription")');
    expect(await heading()).toBe('Confirm your Paperboy subscription');
    // The message's own HTML, in its sandboxed frame.
    await page.frameLocator('iframe').locator('text=Yes, send me papers').waitFor({ timeout: 5000 });
    // The link opens a page that changes nothing; its one button confirms.
    await page.click(`.card a[href^="${base}/confirm/"]`);
    expect(await heading()).toBe('Confirm your subscription');
    const pending = await h.services.db.query('SELECT status FROM subscribers WHERE email = $1', [email]);
    expect(pending.rows[0]).toEqual({ status: 'pending' });
    await page.click('button:has-text("Yes, send me papers")');
    expect(await heading()).toBe('You are subscribed');
  });

  it('renders the digest at phone and desktop widths, without a horizontal scroll', async () => {
    await h.services.digests.runNow(new Date('2026-03-03T06:00:30Z')); // due 07:00 Berlin
    const digest = await newest();
    expect(digest.subject).toMatch(/trending papers today/);
    // Nothing in it depends on images being shown.
    expect(digest.html).not.toMatch(/<img(?![^>]*\balt=)/i);
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const width of [375, 1024]) {
      await page.setViewportSize({ width, height: 900 });
      // A blank page, not the last page of Paperboy's: that page's policy would refuse the mail's styles.
      await page.goto('about:blank');
      await page.setContent(digest.html as string);
      const l = await looks(page, '.paper-title a');
      expect(l.scrollWidth, `horizontal scroll at ${width}px`).toBeLessThanOrEqual(width);
      expect(light(l.body) && light(l.background), `background ${l.body}, behind the text ${l.background}`).toBe(true);
      expect(dark(l.text), `paper title ${l.text}`).toBe(true);
      await page.screenshot({ path: path.join(ARTIFACTS, `digest-${width}.png`), fullPage: true });
    }
  });

  it('renders the digest and the pages dark for a reader who prefers dark', async () => {
    const digest = await newest();
    for (const width of [375, 1024]) {
      await darkPage.setViewportSize({ width, height: 900 });
      await darkPage.setContent(digest.html as string);
      const l = await looks(darkPage, '.paper-title a');
      expect(dark(l.body) && dark(l.background), `background ${l.body}, behind the text ${l.background}`).toBe(true);
      expect(light(l.text), `paper title ${l.text}`).toBe(true);
      expect(l.scrollWidth, `horizontal scroll at ${width}px`).toBeLessThanOrEqual(width);
      await darkPage.screenshot({ path: path.join(ARTIFACTS, `digest-${width}-dark.png`), fullPage: true });
    }
    for (const url of [`${base}/`, `${base}${pathOf(linkIn(digest, '/manage/'))}`]) {
      await darkPage.goto(url);
      const l = await looks(darkPage, 'h1');
      expect(dark(l.body) && dark(l.background), `${url}: background ${l.body}, ${l.background}`).toBe(true);
      expect(light(l.text), `${url}: heading ${l.text}`).toBe(true);
    }
    // The same page stays light for everyone else.
    await page.goto(`${base}/`);
    const lightHome = await looks(page, 'h1');
    expect(light(lightHome.body), `background ${lightHome.body}`).toBe(true);
    expect(dark(lightHome.text), `heading ${lightHome.text}`).toBe(true);
  });

  it('shows the archive: the days, a day with its papers, and the digest in the browser', async () => {
    await page.setViewportSize({ width: 1024, height: 900 });
    await page.goto(`${base}/digests`);
    expect(await heading()).toBe('Archive');
    // The seed papers became news on the day they were loaded (the harness clock's).
    const day = page.locator('a[href="/digests/2026-03-02"]');
    expect(await day.textContent()).toBe('Monday, 2 March 2026');
    await day.click();
    expect(await heading()).toBe('Trending papers · Monday, 2 March 2026');
    // The seed page's papers have no arXiv id: each links to its own page here.
    expect(await page.locator(`.card a[href^="${base}/papers/"]`).count()).toBeGreaterThan(5);

    const digest = await newest();
    const titles = titlesIn(digest);
    expect(titles.length).toBeGreaterThan(0);
    await page.goto('about:blank');
    await page.setContent(digest.html as string);
    await page.click('a:has-text("View in browser")');
    expect(new URL(page.url()).pathname).toMatch(/^\/d\//);
    expect(page.url()).toBe(linkIn(digest, '/d/'));
    expect(await page.locator('.paper-title a').allTextContents()).toEqual(titles);
    expect(await page.locator('a:has-text("View in browser")').count()).toBe(0);

    await darkPage.goto(page.url());
    const web = await looks(darkPage, '.paper-title a');
    expect(dark(web.body) && dark(web.background) && light(web.text), JSON.stringify(web)).toBe(true);
  });

  it('shows the reader’s last days on the preferences page, phone-wide, light and dark, and opens a day’s digest', async () => {
    const digest = await newest();
    const manage = linkIn(digest, '/manage/');
    // Paused on 3 March after the digest, resumed on the 5th: the 4th and the 5th were paused days.
    h.clock.set('2026-03-03T12:00:00Z');
    await open(manage);
    await page.click('button:has-text("Pause digests")');
    h.clock.set('2026-03-05T12:00:00Z');
    await page.click('button:has-text("Resume digests")');
    expect(await page.textContent('.notice')).toContain('Digests resume');

    const rows = page.locator('#history tbody tr');
    expect(await rows.allInnerTexts()).toEqual([
      expect.stringMatching(/^2026-03-05\s+Not sent: your digests were paused$/),
      expect.stringMatching(/^2026-03-04\s+Not sent: your digests were paused$/),
      expect.stringMatching(/^2026-03-03\s+Sent: \d+ papers · read it$/),
    ]);
    expect(await page.textContent('#history p')).toBe('Next digest: Friday 6 March at 07:00 (Europe/Berlin)');
    for (const width of [375, 1024]) {
      for (const [p, scheme] of [
        [page, 'light'],
        [darkPage, 'dark'],
      ] as const) {
        await p.setViewportSize({ width, height: 900 });
        await p.goto(`${base}${pathOf(manage)}`);
        const l = await looks(p, '#history td');
        expect(l.scrollWidth, `horizontal scroll at ${width}px`).toBeLessThanOrEqual(width);
        const readable = scheme === 'dark' ? dark(l.background) && light(l.text) : light(l.background) && dark(l.text);
        expect(readable, `${scheme} at ${width}px: ${JSON.stringify(l)}`).toBe(true);
        await p
          .locator('#history')
          .screenshot({ path: path.join(ARTIFACTS, `history-${width}${scheme === 'dark' ? '-dark' : ''}.png`) });
      }
    }
    await page.click('#history a:has-text("read it")');
    expect(new URL(page.url()).pathname).toMatch(/^\/manage\/[^/]+\/digests\/\d+$/);
    expect(await page.locator('.paper-votes a:has-text("More like this")').count()).toBe(titlesIn(digest).length);
    expect(await page.locator('.paper-title a').allTextContents()).toEqual(titlesIn(digest));
  });

  it('votes from the mail: the link’s page, its one button, and the vote on the preferences page, phone-wide, light and dark', async () => {
    const digest = await newest();
    const titles = titlesIn(digest);
    await page.setViewportSize({ width: 375, height: 900 });
    await page.goto('about:blank');
    await page.setContent(digest.html as string);
    await page.click('.paper-votes >> nth=0 >> a:has-text("More like this")');
    expect(await page.locator('h1').textContent()).toBe('More papers like this?');
    expect(await page.locator('button').first().textContent()).toBe('Yes, more like this');
    const votes = async () =>
      (await h.services.db.query<{ value: number }>('SELECT value FROM paper_votes')).rows.map((r) => r.value);
    expect(await votes()).toEqual([]);
    await page.click('button:has-text("Yes, more like this")');
    expect(await page.locator('h1').textContent()).toBe('Thanks, noted');
    expect(await votes()).toEqual([1]);

    const manage = `${base}${pathOf(linkIn(digest, '/manage/'))}`;
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const [p, scheme] of [
      [page, 'light'],
      [darkPage, 'dark'],
    ] as const) {
      await p.setViewportSize({ width: 375, height: 900 });
      await p.goto(manage);
      expect(await p.locator('#votes tbody tr').allInnerTexts()).toEqual([
        expect.stringMatching(
          new RegExp(`^More like this\\s+${titles[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+Undo$`),
        ),
      ]);
      const l = await looks(p, '#votes td');
      expect(l.scrollWidth, 'horizontal scroll at 375px').toBeLessThanOrEqual(375);
      const readable = scheme === 'dark' ? dark(l.background) && light(l.text) : light(l.background) && dark(l.text);
      expect(readable, `${scheme}: ${JSON.stringify(l)}`).toBe(true);
      await p
        .locator('#votes')
        .screenshot({ path: path.join(ARTIFACTS, `votes-375${scheme === 'dark' ? '-dark' : ''}.png`) });
      await p
        .locator('#follows')
        .screenshot({ path: path.join(ARTIFACTS, `follows-375${scheme === 'dark' ? '-dark' : ''}.png`) });
    }
    await page.click('#votes button:has-text("Undo")');
    expect(await page.textContent('.notice')).toContain('Vote undone.');
    expect(await votes()).toEqual([]);
    await page.setViewportSize({ width: 1024, height: 900 });
  });

  it('shows the trending papers under the form, page by page and by topic, at phone and desktop widths', async () => {
    await h.services.papers.ingest(path.join(ROOT, 'test/fixtures/hf-daily-papers.json'), 'hf');
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const [p, scheme] of [
      [page, 'light'],
      [darkPage, 'dark'],
    ] as const) {
      for (const width of [375, 1024]) {
        await p.setViewportSize({ width, height: 900 });
        await p.goto(`${base}/`);
        expect(await p.locator('form[action="/subscribe"] #email').count()).toBe(1);
        const cards = p.locator('article.paper');
        expect(await cards.count()).toBe(20);
        const l = await looks(p, 'article.paper h2 a');
        expect(l.scrollWidth, `horizontal scroll at ${width}px, ${scheme}`).toBeLessThanOrEqual(width);
        const readable = scheme === 'dark' ? dark(l.background) && light(l.text) : light(l.background) && dark(l.text);
        expect(readable, `${scheme}: behind the title ${l.background}, title ${l.text}`).toBe(true);
        await p.screenshot({
          path: path.join(ARTIFACTS, `home-${width}${scheme === 'dark' ? '-dark' : ''}.png`),
          fullPage: width === 375,
        });
      }
    }

    // A paper from Hugging Face shows every field; its abstract opens without a script.
    await page.setViewportSize({ width: 375, height: 900 });
    await page.goto(`${base}/?topics=multimodal`);
    const circle = page.locator('article.paper', {
      hasText: 'Large Multimodal Models as General In-Context Classifiers',
    });
    expect(await circle.locator('.authors').textContent()).toBe('Marco Garosi, Ana Ruiz');
    expect(await circle.locator('.org').textContent()).toBe('University of Modena');
    expect(await circle.locator('.signals').textContent()).toBe('10 upvotes · 1 comment · 9 GitHub stars');
    expect(await circle.locator('.abstract').isVisible()).toBe(false);
    await circle.locator('details summary').click();
    expect(await circle.locator('.abstract').isVisible()).toBe(true);
    expect(await page.inputValue('#filter-topics')).toBe('multimodal');

    // "More papers" leads to the next page, and back.
    await page.goto(`${base}/`);
    const firstTitle = await page.locator('article.paper h2 a').first().textContent();
    await page.click('a[rel=next]');
    expect(new URL(page.url()).search).toBe('?page=2');
    expect(await page.locator('article.paper h2 a').first().textContent()).not.toBe(firstTitle);
    await page.click('a[rel=prev]');
    expect(await page.locator('article.paper h2 a').first().textContent()).toBe(firstTitle);

    // A seed paper has no arXiv id: its title opens its own page, with the same fields.
    const own = page.locator(`article.paper h2 a[href^="${base}/papers/"]`).first();
    const title = await own.textContent();
    await own.click();
    expect(new URL(page.url()).pathname).toMatch(/^\/papers\/\d+$/);
    expect(await page.locator('article.paper h2').textContent()).toBe(title);
    expect(await page.locator('article.paper .abstract').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'paper-375.png'), fullPage: true });
    await darkPage.setViewportSize({ width: 375, height: 900 });
    await darkPage.goto(page.url());
    const l = await looks(darkPage, 'article.paper h2 a');
    expect(dark(l.background) && light(l.text), JSON.stringify(l)).toBe(true);
    expect(l.scrollWidth).toBeLessThanOrEqual(375);
    await darkPage.screenshot({ path: path.join(ARTIFACTS, 'paper-375-dark.png'), fullPage: true });
  });

  it('changes preferences, unsubscribes with one button and undoes it', async () => {
    const digest = await newest();
    await page.setViewportSize({ width: 1024, height: 900 });
    await open(linkIn(digest, '/manage/'));
    expect(await page.inputValue('#topics')).toBe('lora, robotics');
    await page.selectOption('#frequency', 'weekly');
    await page.selectOption('#weekday', '5');
    await page.click('text=Save preferences');
    expect(await page.textContent('.notice')).toContain('Preferences saved.');
    const s = (await h.services.db.query('SELECT frequency, send_weekday FROM subscribers WHERE email = $1', [email]))
      .rows[0];
    expect(s).toEqual({ frequency: 'weekly', send_weekday: 5 });

    await open(linkIn(digest, '/u/'));
    expect(await heading()).toBe('Unsubscribe?');
    expect(await page.locator('a[href*="/manage/"]').count()).toBe(0);
    await page.click('button:has-text("Unsubscribe")');
    expect(await heading()).toBe('You are unsubscribed');
    await page.click('button:has-text("Undo")');
    expect(await heading()).toBe('You are subscribed again');
  });

  it('asks for a preferences link from the unsubscribe page, gets it by mail and signs every link out', async () => {
    const digest = await newest();
    const before = h.sink.to(email).length;
    await open(linkIn(digest, '/u/'));
    await page.click('button:has-text("Mail me a link to my preferences")');
    expect(await heading()).toBe('Check your inbox');
    await eventually(async () => expect(h.sink.to(email)).toHaveLength(before + 1));
    const mailed = await newest();
    expect(mailed.subject).toBe('Your link to your Paperboy preferences');
    await open(linkIn(mailed, '/manage/'));
    expect(await heading()).toBe('Your subscription');
    await page.click('button:has-text("Sign out all links")');
    expect(await heading()).toBe('Every link is signed out');
    await open(linkIn(mailed, '/manage/'));
    expect(await heading()).toBe('This link was signed out');
    await open(linkIn(digest, '/d/'));
    expect(await heading()).toBe('That did not work');
  });
});

/**
 * The pages under their Content-Security-Policy in a browser that runs scripts: whatever the policy
 * refuses (an inline style or script, a file from elsewhere) the browser reports on the console.
 */
describe.skipIf(!haveBrowser)('pages under their Content-Security-Policy', () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let base = '';
  /** What the browser said while a test ran: console messages and uncaught script errors. */
  let said: string[] = [];
  const refusals = () => said.filter((m) => /Content[- ]Security[- ]Policy|Refused to/i.test(m));

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await createHarness({ env: { PUBLIC_URL: base, ADMIN_PASSWORD } });
    h.startWorkers();
    await h.app.listen({ port, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    context = await browser.newContext({
      javaScriptEnabled: true,
      timezoneId: 'Europe/Berlin',
      httpCredentials: { username: 'admin', password: ADMIN_PASSWORD },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** Opens `url` in a fresh tab that records what the browser says. */
  const visit = async (url: string) => {
    said = [];
    const page = await context.newPage();
    page.on('console', (m) => said.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => said.push(`pageerror: ${e.message}`));
    const res = await page.goto(`${base}${url}`, { waitUntil: 'load' });
    expect(res?.status(), url).toBe(200);
    const csp = (await res?.allHeaders())?.['content-security-policy'] ?? '';
    expect(csp, url).toContain("frame-ancestors 'none'");
    return page;
  };

  it('reports a refusal when one happens: a page framed by another is refused', async () => {
    said = [];
    const page = await context.newPage();
    page.on('console', (m) => said.push(`${m.type()}: ${m.text()}`));
    // about:blank is not Paperboy's origin: framing the home page from it is refused.
    await page.setContent(`<iframe src="${base}/"></iframe>`);
    await eventually(async () => expect(refusals().join('\n')).toMatch(/frame-ancestors 'none'/), 10_000);
    await page.close();
  });

  it('renders the home page: its stylesheet applies and its script fills the time zone', async () => {
    const page = await visit('/');
    expect(await page.inputValue('#timezone')).toBe('Europe/Berlin');
    expect(await page.evaluate(`getComputedStyle(document.querySelector('.card')).borderTopLeftRadius`)).toBe('10px');
    expect(refusals(), said.join('\n')).toEqual([]);
    await page.close();
  });

  it('renders the preferences page and takes its form', async () => {
    await subscribeAndConfirm(h, 'csp@example.org');
    const { id } = (
      await h.services.db.query<{ id: number }>('SELECT id FROM subscribers WHERE email = $1', ['csp@example.org'])
    ).rows[0]!;
    const page = await visit(pathOf(h.services.links.manage({ id, token_epoch: 0 }, h.clock.now())));
    expect(await page.locator('h1').textContent()).toBe('Your subscription');
    expect(await page.evaluate(`getComputedStyle(document.querySelector('.card')).borderTopLeftRadius`)).toBe('10px');
    await page.click('text=Pause digests');
    expect(await page.textContent('.notice')).toContain('Digests are paused.');
    expect(refusals(), said.join('\n')).toEqual([]);
    await page.close();
  });

  it('renders the admin status page, the queue dashboard and the API viewer', async () => {
    const admin = await visit('/admin');
    expect(await admin.locator('h1').textContent()).toBe('Admin');
    expect(refusals(), said.join('\n')).toEqual([]);
    await admin.close();

    const queues = await visit('/admin/queues');
    // The dashboard is drawn by its scripts: its queues appear once they ran and called its API.
    await queues.getByText('digest', { exact: true }).first().waitFor({ timeout: 30_000 });
    expect(refusals(), said.join('\n')).toEqual([]);
    await queues.close();

    const docs = await visit('/docs');
    await docs.getByText('/api/subscriptions', { exact: true }).first().waitFor({ timeout: 30_000 });
    expect(refusals(), said.join('\n')).toEqual([]);
    await docs.close();
  });
});

/** The paper titles of a digest, in order, from its plain-text part. */
function titlesIn(mail: ParsedMail): string[] {
  return [...(mail.text ?? '').matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1] as string);
}
