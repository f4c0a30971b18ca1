import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { createHarness, eventually, type Harness, linkIn, parse, pathOf } from './support/harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-results');
// CI installs Chromium and sets REQUIRE_BROWSER so that a missing browser fails instead of skipping.
const haveBrowser = existsSync(CHROMIUM) || process.env.REQUIRE_BROWSER === '1';
if (!haveBrowser) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

/** The pages in a real browser with JavaScript turned off: every step is a plain form. */
describe.skipIf(!haveBrowser)('pages in a browser without JavaScript', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let base = '';
  const email = 'browser@example.org';

  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
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
    page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
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

  it('confirms through the mailed link', async () => {
    const mail = await parse(h.sink.to(email)[0]!);
    await open(linkIn(mail, '/confirm/'));
    expect(await heading()).toBe('You are subscribed');
  });

  it('renders the digest at phone and desktop widths', async () => {
    await h.services.digests.runNow(new Date('2026-03-03T06:00:30Z')); // due 07:00 Berlin
    const digest = await parse(h.sink.to(email).at(-1)!);
    expect(digest.subject).toMatch(/trending papers today/);
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const width of [375, 1024]) {
      await page.setViewportSize({ width, height: 900 });
      await page.setContent(digest.html as string);
      const overflow = await page.evaluate(
        // biome-ignore lint/suspicious/noExplicitAny: runs in the browser
        () => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).innerWidth,
      );
      expect(overflow, `horizontal scroll at ${width}px`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(ARTIFACTS, `digest-${width}.png`), fullPage: true });
    }
  });

  it('changes preferences, unsubscribes with one button and undoes it', async () => {
    const digest = await parse(h.sink.to(email).at(-1)!);
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
    await page.click('button:has-text("Unsubscribe")');
    expect(await heading()).toBe('You are unsubscribed');
    await page.click('button:has-text("Undo")');
    expect(await heading()).toBe('You are subscribed again');
  });
});
