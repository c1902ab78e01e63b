// Chromium for the browser tests: Debian's /usr/bin/chromium (scripts/setup.sh installs it) driven headless by
// playwright-core, which never downloads a browser of its own; a missing chromium is a skip with its reason.
import * as fs from 'fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} missing (apt-get install chromium; scripts/setup.sh installs it)`;
}

export interface OpenBrowser {
  browser: Browser;
  page: Page;
  /** Uncaught errors and console errors the page reported, for a failing test's message. */
  pageErrors: string[];
}

/** Headless Chromium with one page of the given viewport; the page's own errors are collected. */
export async function launchBrowser(viewport = { width: 1280, height: 860 }): Promise<OpenBrowser> {
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: 60_000 });
  const page = await browser.newPage({ viewport });
  // A click or fill waits at most this long for its element (a busy machine renders slowly).
  page.setDefaultTimeout(30_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(`console: ${msg.text()}`));
  return { browser, page, pageErrors };
}

/** Closes the browser (and its processes); a browser that is already gone is fine. */
export async function closeBrowser(open: OpenBrowser | undefined): Promise<void> {
  await open?.browser.close().catch(() => undefined);
}
