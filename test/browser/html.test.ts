/**
 * The HTML report as a user sees it (issue 24): opened from disk in headless Chromium (Debian's package, driven by
 * playwright-core), the findings are listed and classed, a racy driver's finding has its timeline drawn with the
 * racing pair marked, a finding folds when its title is clicked, and nothing is fetched and nothing logs an error.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers.js';

const CHROMIUM = process.env.PSHARNESS_CHROMIUM ?? '/usr/bin/chromium';
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (or set PSHARNESS_CHROMIUM)`);
  // this machine's network is closed: the background services' connections would be refused by the hundred
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
});

/** Opens DIR/index.html; collects console errors and any request that is not the page itself. */
async function open(dir: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  const url = pathToFileURL(join(dir, 'index.html')).href;
  page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
  await page.goto(url);
  return { page, errors, requests };
}

describe('the HTML report in Chromium', () => {
  test('a racy driver: the race listed, failing, its timeline drawn with one lane per CPU and the racing pair joined', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-html-'));
    const r = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-nolock.c', '--runs', '1000', '--seed', '2', '--invariant', 'no-data-race', '--max-findings', '2', '--no-reports', '--html', dir]);
    expect(r.code).toBe(1);
    const { page, errors, requests } = await open(dir);
    const findings = page.locator('details.finding[data-invariant="no-data-race"]');
    const n = await findings.count();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#failing').textContent()).toBe(`${await page.locator('details.finding[data-gates="true"]').count()} failing`);
    const first = findings.first();
    await expect(first.locator('summary').textContent()).resolves.toMatch(/^✗ data race on .* between On\w+ and On\w+/);
    const svg = first.locator('svg.timeline');
    expect(await svg.isVisible()).toBe(true);
    const box = await svg.boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    const lanes = await svg.locator('rect.lane').count();
    expect(lanes).toBeGreaterThanOrEqual(2);
    expect(await svg.locator('rect.bar').count()).toBeGreaterThanOrEqual(2);
    expect(await svg.locator('line.race').count()).toBe(1);
    // a user folds the finding: its timeline is no longer shown
    await first.locator('summary').click();
    expect(await svg.isVisible()).toBe(false);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  test('a driver that holds: no finding, the page says so; the seed: every finding listed, each class shown', async () => {
    const clean = mkdtempSync(join(tmpdir(), 'psh-html-'));
    expect((await runCli(['fuzz', '--driver', 'reference', '--runs', '200', '--no-reports', '--html', clean])).code).toBe(0);
    const a = await open(clean);
    expect(await a.page.locator('#clean').textContent()).toBe('No violation: every invariant held.');
    expect(await a.page.locator('details.finding').count()).toBe(0);
    await a.page.close();
    const seed = mkdtempSync(join(tmpdir(), 'psh-html-'));
    const r = await runCli(['fuzz', '--driver', 'seed', '--runs', '300', '--no-reports', '--html', seed]);
    const shown = Number(/: (\d+) distinct finding/.exec(r.out)?.[1] ?? '-1');
    const b = await open(seed);
    expect(await b.page.locator('details.finding').count()).toBeGreaterThanOrEqual(shown);
    expect(await b.page.locator('h2').count()).toBeGreaterThan(3);
    expect(b.errors).toEqual([]);
    expect(b.requests).toEqual([]);
    await b.page.close();
  });
});
