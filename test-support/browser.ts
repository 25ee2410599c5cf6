import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The system Chromium (Debian's `chromium` package; .ci/run installs it). playwright-core drives
 * it over the DevTools protocol; no browser is downloaded. QCAL_CHROMIUM overrides the path.
 */
export function chromiumPath(): string {
  const candidates = [process.env.QCAL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`no Chromium found (looked at ${candidates.join(', ')}): install it with 'apt-get install chromium' or set QCAL_CHROMIUM`);
  return found;
}

export interface ReportPage {
  readonly page: Page;
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
  /** Every URL the page asked for. */
  readonly requests: string[];
  rowNames(): Promise<string[]>;
  /** Scrolls the tensor table from top to bottom (so lazily drawn charts get drawn), then back. */
  scrollTableThrough(): Promise<void>;
  /** A PNG of the page (or of one element) for a person to look at. */
  screenshot(file: string, selector?: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens a report.html file in headless Chromium and waits until the page says it is ready. */
export async function openReportPage(file: string, viewport = { width: 1600, height: 1000 }): Promise<ReportPage> {
  const browser: Browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    try {
      await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
    } catch (err) {
      throw new Error(`${file}: the page never became ready; page errors: ${errors.join(' | ') || 'none'} (${(err as Error).message.split('\n')[0]})`);
    }
    return {
      page,
      errors,
      requests,
      rowNames: () => page.$$eval('#tensor-table tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.tensor ?? '')),
      async scrollTableThrough() {
        await page.evaluate(async () => {
          const box = document.getElementById('tensor-table')!;
          const frame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
          for (let y = 0; y <= box.scrollHeight; y += box.clientHeight / 2) {
            box.scrollTop = y;
            await frame();
          }
          box.scrollTop = 0;
          await frame();
        });
      },
      async screenshot(out, selector) {
        fs.mkdirSync(path.dirname(out), { recursive: true });
        if (selector) await page.locator(selector).screenshot({ path: out });
        else await page.screenshot({ path: out, fullPage: false });
      },
      close: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
