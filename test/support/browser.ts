import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN } from './admin.ts';

/*
 * Debian's chromium, driven by playwright-core (never a browser downloaded by `playwright install`); .ci/run installs
 * the package. Screenshots go to test-artifacts/console-screenshots/ in the checkout (git-ignored; CI keeps it as an
 * artifact), or to COSELL_SCREENSHOT_DIR.
 */

export const CHROMIUM = process.env.COSELL_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export const SCREENSHOT_DIR = process.env.COSELL_SCREENSHOT_DIR ?? resolve(fileURLToPath(import.meta.url), '../../../test-artifacts/console-screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Logs in through the console's form, as an operator would. */
export async function logIn(page: Page, adminUrl: string): Promise<void> {
  await page.goto(adminUrl);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** Whether the page is wider than the window (a horizontal scroll bar on the page itself). */
export function overflowsHorizontally(page: Page): Promise<boolean> {
  // A string: the project's TypeScript has no DOM library, and this runs in the page.
  return page.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth');
}
