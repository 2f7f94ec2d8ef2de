/**
 * Driving serve's web console in real headless Chromium (Debian's, through playwright-core) from the
 * end-to-end tests: the console's build made current, pages that record every console error, page
 * error and dialog, logging in with a token, and waiting on what a page shows. One place for the
 * browser plumbing the console and the serve-watch-simulate tests share.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

const ROOT = join(import.meta.dirname, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
const BUILT = join(ROOT, 'dist', 'console', 'index.html');

/** Why a console test cannot run here, or undefined when Chromium is installed. */
export const chromiumSkipReason: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is not installed (apt-get install chromium); the console test needs it`;

/** Newest modification time under `dir` (the console's sources). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  return t;
}

/**
 * The console's build, made again when its sources are newer (the server serves dist/console/, its
 * file list read when it starts: call this before starting one).
 */
export function ensureConsoleBuild(): void {
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= newest(join(ROOT, 'console'))) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm run build:console failed:\n${r.stdout}\n${r.stderr}`);
}

/** Headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A locator's text as the DOM holds it (markup in telemetry must arrive here as text). */
export const textOf = async (l: Locator): Promise<string> => (await l.textContent()) ?? '';

/** What the pages opened by `newPage` reported: console errors and warnings, page errors, dialogs. */
export interface PageProblems {
  problems: string[];
  dialogs: string[];
}

/** A page in `context` whose console errors, page errors and dialogs (dismissed) are recorded in `seen`. */
export async function newPage(context: BrowserContext, who: string, seen: PageProblems): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.problems.push(`${who} ${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.problems.push(`${who} ${page.url()}: ${String(e)}`));
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  return page;
}

/** Logs in to the console at `url` with a token and waits for the cases queue. */
export async function logIn(page: Page, url: URL, token: string): Promise<void> {
  await page.goto(url.href);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Cases' }).waitFor();
}
