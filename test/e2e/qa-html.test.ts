/**
 * The HTML quality report, opened as a user opens it: in a browser (headless
 * Chromium through playwright-core), from a file:// URL, with no network.
 * Skipped when no browser is found (test/helpers/browser.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeBrowser, launchBrowser } from '../helpers/browser.js';
import { expectExit } from '../helpers/pipeline.js';
import { copyQaPipeline, summaryLine } from '../helpers/qa-pipeline.js';
import type { CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-qahtml-');

let reportRun: CliResult;
let reportFile: string;
let browser: Browser | undefined;
let pageText: string;
let headline: { text: string; fontPx: number; beforeSummary: boolean } | undefined;
let requested: string[];

describeBrowser('qareport --format html', () => {
  beforeAll(async () => {
    const pipe = copyQaPipeline(tempDir());
    reportFile = path.join(tempDir(), 'report.html');
    reportRun = await pipe.cli(['qareport', '--format', 'html', '-o', reportFile]);
    expectExit(reportRun, 0);

    browser = await launchBrowser();
    const page = await browser.newPage();
    requested = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(pathToFileURL(reportFile).href, { waitUntil: 'load' });
    pageText = await page.innerText('body');
    // Written as page code (this project has no DOM types): what a reader sees of the headline.
    headline = (await page.evaluate(`(() => {
      const box = document.querySelector('.headline');
      const qai = box && box.querySelector('.qai');
      const summary = [...document.querySelectorAll('h2')].find((h) => h.textContent.includes('Summary'));
      if (!box || !qai || !summary) return undefined;
      return {
        text: box.innerText,
        fontPx: parseFloat(getComputedStyle(qai).fontSize),
        beforeSummary: Boolean(box.compareDocumentPosition(summary) & Node.DOCUMENT_POSITION_FOLLOWING),
      };
    })()`)) as typeof headline;
  });

  afterAll(async () => {
    await browser?.close();
  });

  test('when the report is opened in Chromium then the page shows the QAI percentage and the grade qareport printed', () => {
    const summary = summaryLine(reportRun.stderr);
    expect(summary, reportRun.stderr).toBeDefined();
    expect(pageText).toContain(`QA Index: ${summary!.percent}%`);
    expect(pageText).toContain(`QA Grade: ${summary!.grade}`);
    expect(pageText).toContain('qapipe Quality Report');
    expect(pageText).toContain('Untested processors: Flag');
  });

  test('when the report is opened then the QAI and the grade are the headline: large, above the summary', () => {
    const summary = summaryLine(reportRun.stderr)!;
    expect(headline, 'no .headline with .qai before the Summary').toBeDefined();
    expect(headline!.text.replace(/\s+/g, ' ')).toBe(`QAI ${summary.percent}% Grade ${summary.grade}`);
    expect(headline!.fontPx).toBeGreaterThan(30);
    expect(headline!.beforeSummary).toBe(true);
  });

  test('when the page loads then it fetches nothing but the file itself: no external resource', () => {
    expect(requested).toEqual([pathToFileURL(reportFile).href]);
    expect(fs.readFileSync(reportFile, 'utf8')).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
  });
});
