/**
 * The operator console in a real browser (Chromium from the npm registry, @sparticuz/chromium)
 * against a real local relay and real receivers: sign in with the admin key (a tenant key is
 * refused), create tenant keys (shown once), open the portal as a tenant, revoke a key, redrive
 * dead deliveries with the progress shown to completion, and replay a window of events.
 * Screenshots of the views go to docs/screenshots/console-*.png (RELAY_SCREENSHOTS=1).
 */

import { mkdtempSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey, keyIdOf } from '../../functions/core/keys.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { launchChromium } from '../support/browser.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { API_KEY, type ApiResponse, client, startTestRelay } from '../support/relay.ts';

/**
 * Screenshots of the views: into docs/screenshots/ with RELAY_SCREENSHOTS=1 (how the README's are
 * made), else into a temporary folder, so `npm test` leaves the checkout as it was.
 */
const SHOTS = process.env.RELAY_SCREENSHOTS
  ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
  : `${mkdtempSync(join(tmpdir(), 'relay-shots-'))}/`;
const DESCRIPTION = 'acme CI <b>bold?</b>';
const DEAD = 5;

const until = <T>(check: () => T | Promise<T>, timeout = 10_000) =>
  expect.poll(check, { timeout, interval: 100 });

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe('the operator console, in Chromium', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const receivers: Receiver[] = [];
  const problems: string[] = [];
  /** Every /v1 request the console made, in order. */
  const apiCalls: string[] = [];
  let ciKey = '';

  const shot = (name: string) => page.screenshot({ path: `${SHOTS}console-${name}.png`, fullPage: true });
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };
  /** A call of the relay's API with `key`, as a tenant's program would make it. */
  const withKey = (key: string, method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    client(relay, key).call(method, path, body);
  const tenantCard = (tenant: string) => page.locator(`section.tenant[data-tenant="${tenant}"]`);
  const watch = (p: Page) => {
    p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    p.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });
  };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    // One retry 50 ms after the first attempt: a failing receiver's tasks reach the DLQ at once.
    ({ relay, api } = await startTestRelay([0.05]));
    browser = await launchChromium();
    // UTC: the replay form's datetime-local inputs are then filled with UTC times.
    context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 1,
      timezoneId: 'UTC',
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: relay.url });
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.hostname !== '127.0.0.1') {
        problems.push(`request to another host: ${u.href}`);
        return route.abort();
      }
      if (u.pathname.startsWith('/v1/')) apiCalls.push(`${route.request().method()} ${u.pathname}`);
      return route.continue();
    });
    page = await context.newPage();
    page.setDefaultTimeout(8000);
    watch(page);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await relay?.close();
  });

  it('shows only the sign-in form without the admin key, and refuses a tenant key', async () => {
    const res = await page.goto(`${relay.url}/console`);
    const headers = res?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    const keyInput = page.getByLabel('Admin key');
    await until(() => keyInput.isVisible()).toBe(true);
    expect(await page.getByRole('navigation').isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
    expect(apiCalls).toEqual([]);

    // A tenant's key: tried once, refused with what the console needs, and not kept.
    await keyInput.fill(API_KEY);
    await keyInput.press('Enter');
    await until(() =>
      page
        .getByText("That is a tenant's API key or a portal token: the console needs the admin key.")
        .isVisible(),
    ).toBe(true);
    expect(apiCalls).toEqual(['GET /v1/admin/api-keys']);
    expect(await page.getByRole('navigation').isVisible()).toBe(false);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await shot('sign-in');

    await keyInput.fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(() =>
      page.getByText('The relay refused that key: check it and paste it again.').isVisible(),
    ).toBe(true);
  });

  it('signs in with the admin key and says what to do while there are no tenant keys', async () => {
    await page.getByLabel('Admin key').fill(relay.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/#\/tenants$/);
    await until(() => page.getByText('No tenant keys yet', { exact: false }).isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Tenants and keys' }).getAttribute('aria-current')).toBe(
      'page',
    );
  });

  it('creates a key, shows it once with a copy button, and lists it under its tenant', async () => {
    await page.getByLabel('Tenant', { exact: true }).fill('acme');
    await page.getByLabel('Description (optional)').fill(DESCRIPTION);
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.locator('[data-new-key]');
    await until(() => shown.textContent()).toMatch(/^rk_/);
    ciKey = (await shown.textContent()) as string;
    await until(() =>
      page.getByText('Copy it now: it will not be shown again.', { exact: false }).isVisible(),
    ).toBe(true);
    // The copy button copies exactly the key (the page is a secure context: loopback).
    await page.getByRole('button', { name: 'Copy key' }).click();
    await until(() => page.getByText('Copied to the clipboard.').isVisible()).toBe(true);
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(ciKey);

    // Listed under acme by the id the relay derives from the key's hash, the description as text.
    const row = tenantCard('acme').locator(`tr[data-key="${keyIdOf(hashKey(ciKey))}"]`);
    await until(() => row.count()).toBe(1);
    expect(await row.locator('td.description').textContent()).toBe(DESCRIPTION);
    expect(await row.locator('b').count()).toBe(0);
    expect(await tenantCard('acme').locator('.tenant-head .hint').textContent()).toBe('1 key');
    await shot('key-created');

    // Once: gone from the page when dismissed, and not in the listing's answer.
    await page.getByRole('button', { name: 'Done: I have stored it' }).click();
    expect(await page.locator('[data-new-key]').count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(ciKey);
    expect(JSON.stringify((await api.admin.get('/v1/admin/api-keys')).body)).not.toContain(ciKey);

    // And it works as acme's key.
    const rx = await receiver();
    const sub = await withKey(ciKey, 'POST', '/v1/subscriptions', {
      url: `${rx.url}/acme`,
      eventTypes: ['*'],
    });
    expect(sub.status).toBe(201);
  });

  it("opens the endpoint portal as the tenant in a new tab, showing that tenant's endpoints", async () => {
    const [portal] = await Promise.all([
      context.waitForEvent('page'),
      tenantCard('acme').getByRole('button', { name: 'Open portal as acme' }).click(),
    ]);
    watch(portal);
    await portal.waitForURL(/\/portal#\/endpoints$/);
    const acmeUrl = `${receivers[0]?.url}/acme`;
    await until(() => portal.getByText(acmeUrl, { exact: true }).count()).toBeGreaterThan(0);
    await until(() => tenantCard('acme').getByText('opened in a new tab', { exact: false }).isVisible()).toBe(
      true,
    );
    await portal.close();
  });

  it('revokes a key after a confirmation; the relay then refuses it', async () => {
    // Another tenant, made through the API: listed as its own group.
    expect(
      (await api.admin.post('/v1/admin/api-keys', { tenant: 'globex', description: 'globex production' }))
        .status,
    ).toBe(201);
    await page.getByLabel('Tenant', { exact: true }).fill('acme');
    await page.getByLabel('Description (optional)').fill('to revoke');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.locator('[data-new-key]');
    await until(() => shown.textContent()).toMatch(/^rk_/);
    const doomed = (await shown.textContent()) as string;
    const id = keyIdOf(hashKey(doomed));
    await page.getByRole('button', { name: 'Done: I have stored it' }).click();
    await until(() => tenantCard('acme').locator('tr[data-key]').count()).toBe(2);
    expect(await page.locator('section.tenant h3').allTextContents()).toEqual(['acme', 'globex']);

    // Cancel first (with Escape), from the keyboard: nothing happens.
    const revoke = page.getByRole('button', { name: `Revoke ${id}` });
    await revoke.focus();
    await page.keyboard.press('Enter');
    await until(() => page.getByText('This cannot be undone.', { exact: false }).isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    expect(await page.getByText('This cannot be undone.', { exact: false }).count()).toBe(0);
    expect((await api.admin.get('/v1/admin/api-keys')).body.apiKeys).toHaveLength(3);

    await revoke.click();
    await page.getByRole('button', { name: 'Revoke key', exact: true }).click();
    await until(() => tenantCard('acme').locator('tr[data-key]').count()).toBe(1);
    expect(await tenantCard('acme').locator(`tr[data-key="${id}"]`).count()).toBe(0);
    await until(() => page.getByText(`Key ${id} of acme revoked`, { exact: false }).isVisible()).toBe(true);
    expect(
      (await api.admin.get('/v1/admin/api-keys')).body.apiKeys.map((k: { id: string }) => k.id),
    ).not.toContain(id);
    // The key was never used, so no instance holds it in its 60 s cache: refused at once. (A key
    // in use is refused within 60 s, as the page says; the other key of acme still works.)
    expect((await withKey(doomed, 'GET', '/v1/subscriptions')).status).toBe(401);
    expect((await withKey(ciKey, 'GET', '/v1/subscriptions')).status).toBe(200);
    await shot('tenants');
  });

  it('shows the dead deliveries, redrives them with the progress to COMPLETED, and the count drops', async () => {
    const rx = await receiver(() => 500);
    await api.subscribe(`${rx.url}/down`, ['order.*']);
    const ids: string[] = [];
    for (let i = 0; i < DEAD; i++) ids.push(await api.send('order.created', { n: i }));
    await waitFor(
      `${DEAD} dead tasks in the DLQ`,
      () => relay.queues.deliveryDlq.depth().total === DEAD,
      20_000,
    );

    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.waitForURL(/#\/dlq$/);
    const count = page.locator('[data-dlq-count]');
    await until(() => count.textContent()).toBe(String(DEAD));
    await until(() => page.getByText('No redrive has been started yet.').isVisible()).toBe(true);

    rx.setBehaviour(() => 200);
    const recoveredAt = Date.now();
    await page.getByRole('button', { name: 'Redrive the DLQ' }).click();
    const progress = page.getByLabel('Redrive progress');
    await until(() => page.locator('.redrive [data-status]').textContent()).toBe('COMPLETED');
    expect(await progress.getAttribute('max')).toBe(String(DEAD));
    expect(await progress.getAttribute('value')).toBe(String(DEAD));
    expect(await page.locator('[data-redrive]').textContent()).toBe(`${DEAD} of ${DEAD} moved`);
    await until(() => count.textContent()).toBe('0');
    await waitFor('the redriven deliveries', () =>
      ids.every((id) => rx.withId(id).some((r) => r.at >= recoveredAt)),
    );
    await shot('dlq');
  });

  it('starts a replay of a window and shows it COMPLETED', async () => {
    const rx = await receiver();
    await api.subscribe(`${rx.url}/replayed`, ['shipment.*']);
    // The form takes whole seconds: start the window on a fresh second, after everything above.
    const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    await new Promise((r) => setTimeout(r, from - Date.now() + 20));
    const ids = [await api.send('shipment.picked'), await api.send('shipment.delivered')];
    await waitFor('the first deliveries', () => ids.every((id) => rx.withId(id).length === 1));

    await page.getByRole('link', { name: 'Replays' }).click();
    await page.waitForURL(/#\/replays$/);
    await until(() => page.getByText('No replays yet: start one with the form above.').isVisible()).toBe(
      true,
    );
    await page.getByLabel('From').fill(new Date(from).toISOString().slice(0, 19));
    await page.getByRole('button', { name: 'Start replay' }).click();
    const row = page.locator('tr[data-replay]');
    await until(() => row.count()).toBe(1);
    await until(() => row.locator('[data-status]').textContent()).toBe('COMPLETED');
    expect(await row.locator('td.num').textContent()).toBe('2');
    expect(await row.locator('td').nth(2).locator('time').getAttribute('datetime')).toBe(
      new Date(from).toISOString(),
    );
    await waitFor('the replayed deliveries', () => ids.every((id) => rx.withId(id).length === 2));
    await shot('replays');
  });

  it('keeps the key over a reload in this tab only, and signs out', async () => {
    await page.reload();
    await until(() => page.locator('tr[data-replay]').count()).toBe(1);
    const other = await context.newPage();
    await other.goto(`${relay.url}/console`);
    await until(() => other.getByLabel('Admin key').isVisible()).toBe(true);
    await other.close();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await until(() => page.getByLabel('Admin key').isVisible()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('broke no CSP rule and asked no other host for anything', () => {
    expect(problems).toEqual([]);
  });
});
