import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import { REPO_ROOT } from '@featx/runtime';
import { TEST_API_TOKEN } from './test-services';

/** Debian's chromium (.ci/run installs it with apt); never Playwright's browser download, which cannot work here. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Screenshots and timings of the web console's e2e suites, one folder per suite, kept for people to look at. */
export const WEB_CONSOLE_ARTIFACTS = path.join(REPO_ROOT, '.featx', 'test-artifacts', 'web-console');

/**
 * Why the console's browser suites cannot run here, or null when they can: chromium must start (a
 * headless --dump-dom of a blank page). Under CI=true it is always null: there the suites run and
 * fail when chromium does not start, rather than skip.
 */
export function browserUnavailable(): string | null {
  if (process.env.CI === 'true') return null;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (.ci/run installs it with apt)`;
  const profile = path.join(os.tmpdir(), `featx-chromium-probe-${process.pid}`);
  const probe = spawnSync(CHROMIUM, [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--dump-dom', 'about:blank'], { timeout: 30000, encoding: 'utf8' });
  spawnSync('rm', ['-rf', profile]);
  return probe.status === 0 ? null : `${CHROMIUM} does not start: ${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
}

/** What the page functions below read of the browser's window (the tests compile without the DOM's types). */
export interface BrowserWindow {
  document: { documentElement: { scrollWidth: number } };
  sessionStorage: { getItem(key: string): string | null };
  localStorage: { length: number };
  axe: { run(context: unknown): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: unknown[] }> }> };
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Errors the page logged (console.error, uncaught exceptions) since `watchErrors()`. */
  errors: string[];
  watchErrors(): void;
  /** A full-page screenshot into the suite's artifacts folder. */
  shot(name: string): Promise<void>;
  /** axe-core's serious and critical violations on the page as it is now (expected: none). */
  seriousViolations(): Promise<Array<{ id: string; impact: string; help: string; nodes: number }>>;
  signIn(apiUrl: string, token?: string): Promise<void>;
  close(): Promise<void>;
}

/** Chromium with a fresh profile (its own --user-data-dir), one page at 1280x900. */
export async function launchTestBrowser(suite: string): Promise<TestBrowser> {
  const artifacts = path.join(WEB_CONSOLE_ARTIFACTS, suite);
  await fs.mkdir(artifacts, { recursive: true });
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  return {
    context,
    page,
    errors,
    watchErrors() {
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      page.on('pageerror', (error) => errors.push(error.message));
    },
    async shot(name) {
      await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
    },
    async seriousViolations() {
      await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
      const violations = await page.evaluate(async () => {
        const window = globalThis as unknown as BrowserWindow;
        const result = await window.axe.run(window.document);
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
      });
      return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    },
    async signIn(apiUrl, token = TEST_API_TOKEN) {
      await page.goto(`${apiUrl}/`);
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
    },
    async close() {
      await context.close();
      await fs.rm(profile, { recursive: true, force: true });
    },
  };
}
