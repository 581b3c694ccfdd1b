// Headless Chromium (the Debian package) driven by playwright-core, which never downloads a
// browser here: the executable path is given. Test support only.

import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

export interface RenderedPage {
  /** The page's rendered text (innerText of body: what a reader sees, hidden text excluded). */
  readonly text: string;
  /** Requests the page made other than for the file itself (a self-contained page makes none). */
  readonly otherRequests: readonly string[];
  readonly screenshot: Buffer;
  /** The page printed to PDF (A4), as "save as PDF" would. */
  readonly pdf: Buffer;
}

/** Opens a local HTML file, waits for it to load, and returns what it shows. */
export async function renderFile(browser: Browser, file: string, screenshotPath: string): Promise<RenderedPage> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const url = `file://${file}`;
  const otherRequests: string[] = [];
  page.on('request', (req) => {
    if (req.url() !== url) otherRequests.push(req.url());
  });
  try {
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    const text = await page.innerText('body');
    const screenshot = await page.screenshot({ path: screenshotPath, fullPage: true });
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    return { text, otherRequests, screenshot, pdf };
  } finally {
    await page.close();
  }
}
