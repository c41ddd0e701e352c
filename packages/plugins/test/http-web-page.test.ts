import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Runtime } from '@diffusekit/core';
import { startServer, type RunningServer } from '@diffusekit/plugins';
import { Gate, imageBytes, testRuntime } from './http-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  process.stderr.write(`http-web-page.test.ts: skipped, ${CHROMIUM} is missing (Debian: apt-get install -y chromium)\n`);
}
const describeWithChromium = haveChromium ? describe : describe.skip;

describeWithChromium(`the web page in headless Chromium (skipped without ${CHROMIUM})`, () => {
  let gate: Gate;
  let runtime: Runtime;
  let server: RunningServer;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    profile = await mkdtemp(path.join(tmpdir(), 'diffusekit-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
  });

  async function open(options: { apiKey?: string } = {}): Promise<void> {
    foreignRequests.length = 0;
    pageErrors.length = 0;
    gate = new Gate();
    runtime = await testRuntime(gate);
    server = await startServer(runtime, { port: 0, signals: false, ...options });
    page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(`${server.url}/`) && !r.url().startsWith('blob:')) foreignRequests.push(r.url());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/`);
    // Record every status text the page shows, to see the progress it received over SSE. (Browser-side code is given
    // as text: these tests compile without the DOM library.)
    await page.evaluate(`
      window.statuses = [];
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) window.statuses.push(n.textContent);
      }).observe(document.getElementById('status'), { childList: true });
    `);
  }

  afterEach(async () => {
    await page?.close();
    gate.open();
    await server?.close({ timeoutMs: 0 });
    await runtime?.close();
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  const statuses = () => page.evaluate<string[]>('window.statuses');
  const file = async (width: number, height: number) => ({ name: 'photo.png', mimeType: 'image/png', buffer: await imageBytes('png', width, height) });

  it('lists the tasks, runs one on an upload and compares before and after', async () => {
    await open();
    await page.waitForSelector('body[data-state="ready"]');
    expect(await page.locator('#task option').allTextContents()).toEqual(['tiny', 'gated', 'broken', 'orphan']);
    await page.selectOption('#task', 'tiny');
    const optionInputs = await page.locator('#options [data-option]').all();
    expect(await Promise.all(optionInputs.map((input) => input.getAttribute('name')))).toEqual([
      'steps',
      'strength',
      'invert',
      'mode',
      'order',
    ]);
    await page.fill('#options [data-option="steps"]', '4');
    await page.setInputFiles('#image', await file(32, 24));
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]');

    expect(await page.textContent('#status')).toBe('Done: 32×24, png. Drag the slider to compare.');
    expect(await page.evaluate<number[]>("['before', 'after'].map((id) => document.getElementById(id).naturalWidth)")).toEqual([32, 32]);
    await page.locator('#slider').fill('25');
    expect(await page.evaluate<string>("document.getElementById('after-layer').style.clipPath")).toBe('inset(0px 0px 0px 25%)');
    expect(await page.getAttribute('#download', 'download')).toBe('result.png');
  });

  it('shows every step of a job it follows live', async () => {
    // The job is held until the page is subscribed: a job that ends before its events are read shows only its last
    // progress (progress is a latest value), which is right for the page but would make this check depend on timing.
    await open();
    await page.waitForSelector('body[data-state="ready"]');
    await page.selectOption('#task', 'gated');
    await page.fill('#options [data-option="steps"]', '3');
    await page.setInputFiles('#image', await file(16, 16));
    await page.click('#run');
    await gate.started(1);
    await page.locator('#status').filter({ hasText: /^infer…$/ }).waitFor();
    gate.open();
    await page.waitForSelector('body[data-state="done"]');
    expect(await statuses()).toEqual(expect.arrayContaining(['tile 1 of 3', 'tile 2 of 3', 'tile 3 of 3']));
  });

  it('follows a job live and cancels it', async () => {
    await open();
    await page.waitForSelector('body[data-state="ready"]');
    await page.selectOption('#task', 'gated');
    await page.setInputFiles('#image', await file(16, 16));
    await page.click('#run');
    await gate.started(1);
    // Locators, not waitForFunction: the page's CSP (rightly) forbids the eval that a string predicate needs.
    await page.locator('#status').filter({ hasText: /^infer…$/ }).waitFor();
    await page.click('#cancel');
    await gate.aborted(0);
    await page.waitForSelector('body[data-state="cancelled"]');
    expect(await page.locator('#compare-section').isHidden()).toBe(true);
  });

  it('shows the error code of a failed run', async () => {
    await open();
    await page.waitForSelector('body[data-state="ready"]');
    await page.selectOption('#task', 'tiny');
    await page.setInputFiles('#image', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not really a picture') });
    await page.click('#run');
    await page.waitForSelector('body[data-state="failed"]');
    expect(await page.textContent('#status')).toMatch(/^UNSUPPORTED_FORMAT: /);
  });

  it('asks for the API key when the server needs one, then works with it', async () => {
    await open({ apiKey: 'page-test-key-123' });
    await page.waitForSelector('body[data-state="error"]');
    expect(await page.textContent('#status')).toBe('This server needs an API key: enter it above.');
    await page.fill('#api-key', 'page-test-key-123');
    await page.locator('#api-key').dispatchEvent('change');
    await page.waitForSelector('body[data-state="ready"]');
    await page.selectOption('#task', 'tiny');
    await page.setInputFiles('#image', await file(16, 16));
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]');
  });
});
