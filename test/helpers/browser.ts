/**
 * The browser tests' Chromium. test/global-setup.ts finds one once per run
 * (test/helpers/browser-probe.ts); without one, the browser tests are skipped after
 * ONE line saying so, and with CI=1 or CORRAL_REQUIRE_BROWSER=1 the run fails instead.
 */
import type { Browser } from 'playwright-core';
import { describe, inject } from 'vitest';
import type { BrowserProbe } from './browser-probe.js';

function probe(): BrowserProbe {
  const found = inject('corralBrowser');
  if (!found) throw new Error('test/global-setup.ts did not look for a browser: run the tests through vitest.config.ts');
  return found;
}

/** `describe` for tests that open a page: skipped (and listed as skipped) without a browser. */
export function describeBrowser(name: string, body: () => void): void {
  describe.skipIf(probe().executable === undefined)(name, body);
}

/** Headless Chromium with nothing that reaches the network on its own. */
export async function launchBrowser(): Promise<Browser> {
  const { executable } = probe();
  if (executable === undefined) throw new Error('No browser was found: this test should have been skipped (describeBrowser)');
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: executable,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
