/**
 * The endpoint portal in a real browser (Chromium from the npm registry, @sparticuz/chromium)
 * against a real local relay and a real receiver: create an endpoint, test it, watch the log,
 * retry a failure, rotate the secret, disable it, and an event that holds markup shows as text.
 * Screenshots of the main views go to docs/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import { type Browser, type BrowserContext, type Page, chromium as pw } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { API_KEY, type client, startTestRelay } from '../support/relay.ts';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const XSS = '<script>window.__pwned=1</script>';

/** Polls a page condition until it holds (the portal refreshes its log by itself). */
const until = <T>(check: () => T | Promise<T>, timeout = 10_000) =>
  expect.poll(check, { timeout, interval: 100 });

describe('the endpoint portal, in Chromium', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let token = '';
  let endpointId = '';
  const problems: string[] = [];

  const shot = (name: string) => page.screenshot({ path: `${SHOTS}portal-${name}.png`, fullPage: true });
  /** The row of the delivery of event `eventId` in the log. */
  const row = (eventId: string) => page.locator(`tr[data-event="${eventId}"]`);
  const panel = () => page.locator('section.panel');
  /** Presses "Send test event" and returns the id of the event it sent. */
  const sendTest = async () => {
    const code = page.locator('.action-result code');
    const before = (await code.allTextContents())[0];
    await page.getByRole('button', { name: 'Send test event' }).click();
    await until(async () => (await code.allTextContents())[0]).not.toBe(before);
    return (await code.textContent()) as string;
  };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    ({ relay, api } = await startTestRelay([0.05, 0.05]));
    receiver = await startReceiver();
    for (const [name, description] of [
      ['order.created', 'A customer placed an order'],
      ['user.signup', 'Someone created an account'],
    ]) {
      const res = await api.post('/v1/event-types', { name, description, example: { id: `${name}.1` } });
      expect(res.status).toBe(201);
    }
    // A portal session link, as a provider makes for its customer (the tenant key signs in too:
    // the last test pastes it).
    const session = await api.post('/v1/portal-sessions', {});
    expect(session.status).toBe(201);
    const link = new URL(session.body.url);
    expect(link.pathname).toBe('/portal');
    token = decodeURIComponent(link.hash.replace(/^#token=/, ''));
    expect(token).toMatch(/^ps_/);

    browser = await pw.launch({
      executablePath: await chromium.executablePath(),
      args: [
        ...chromium.args,
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      headless: true,
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    // Loopback only: anything else the page asked for would be a fault of the portal.
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.hostname === '127.0.0.1') return route.continue();
      problems.push(`request to another host: ${u.href}`);
      return route.abort();
    });
    page = await context.newPage();
    page.setDefaultTimeout(8000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await relay?.close();
  });

  it('says what to do when the token is refused, and takes the token out of the address', async () => {
    await page.goto(`${relay.url}/portal#token=ps_not-a-real-session`);
    await until(() =>
      page.getByText('The session expired or was revoked: ask for a new portal link.').isVisible(),
    ).toBe(true);
    expect(new URL(page.url()).hash).not.toContain('token');
    await until(() => page.getByLabel('Portal token or API key').isVisible()).toBe(true);
    await shot('sign-in');
  });

  it('opens the link with its security headers and shows the empty state', async () => {
    const res = await page.goto('about:blank').then(() => page.goto(`${relay.url}/portal#token=${token}`));
    const headers = res?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    await until(() => page.getByText('No endpoints yet — add one with the form below.').isVisible()).toBe(
      true,
    );
    expect(new URL(page.url()).hash).toBe('#/endpoints');
    // The catalog's types are offered as checkboxes.
    await until(() => page.getByLabel('user.signup').isVisible()).toBe(true);
  });

  it('creates an endpoint from the catalog and a wildcard, and lists it', async () => {
    await page.getByLabel('Endpoint URL').fill(`${receiver.url}/hooks`);
    await page.getByLabel('Description (optional)').fill('Orders to the warehouse <b>bold?</b>');
    await page.getByLabel('user.signup').check();
    await page.getByLabel('More event types').fill('order.*');
    await shot('create');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.waitForURL(/#\/endpoints\/[^/]+$/);
    endpointId = decodeURIComponent(new URL(page.url()).hash.split('/')[2] as string);
    await until(() => page.locator('h2.endpoint-title').textContent()).toBe(`${receiver.url}/hooks`);
    const stored = await api.get(`/v1/subscriptions/${endpointId}`);
    expect(stored.body).toMatchObject({
      url: `${receiver.url}/hooks`,
      eventTypes: ['user.signup', 'order.*'],
      enabled: true,
      format: 'json',
      description: 'Orders to the warehouse <b>bold?</b>',
    });

    await page.getByRole('link', { name: '← All endpoints' }).click();
    const item = page.locator('li.endpoint-item');
    await until(() => item.count()).toBe(1);
    expect(await item.locator('.description').textContent()).toBe('Orders to the warehouse <b>bold?</b>');
    expect(await item.locator('.badge').allTextContents()).toEqual(['Enabled', 'Healthy']);
    await shot('endpoints');
    await item.getByRole('link', { name: `${receiver.url}/hooks` }).click();
    await page.waitForURL(/#\/endpoints\/[^/]+$/);
  });

  it('sends a test event and shows its attempt in the delivery log', async () => {
    const eventId = await sendTest();
    await waitFor('the test webhook', () => receiver.withId(eventId).length === 1);
    await until(() => row(eventId).locator('[data-status]').textContent()).toBe('Succeeded');
    await row(eventId).getByRole('link').click();
    await until(() => panel().locator('tbody tr').count()).toBe(1);
    const attempt = panel().locator('tbody tr').first();
    expect(await attempt.locator('td').nth(2).textContent()).toBe('HTTP 200');
    expect(await attempt.locator('pre.excerpt').textContent()).toBe('ok');
    await until(() => panel().locator('pre.payload').textContent()).toContain('"subscriptionId"');
  });

  it('shows a failing delivery, and Retry delivers it once the receiver is back', async () => {
    receiver.setBehaviour(() => 500);
    const eventId = await sendTest();
    await until(() => row(eventId).locator('[data-status]').getAttribute('data-status')).toBe('dead');
    expect(await row(eventId).locator('td').nth(3).textContent()).toBe('3');
    await until(() => page.locator('.badges-slot .badge').allTextContents()).toContain('Failing');
    await row(eventId).getByRole('link').click();
    await until(() => panel().locator('tbody tr').count()).toBe(3);
    expect(await panel().locator('tbody tr').first().locator('pre.excerpt').textContent()).toBe('nope 500');
    await shot('delivery-failed');

    receiver.setBehaviour(() => 200);
    await panel().getByRole('button', { name: 'Retry' }).click();
    await until(() => panel().locator('[data-status]').first().textContent()).toBe('Succeeded');
    const latest = panel().locator('tbody tr').first();
    expect(await latest.locator('td').nth(2).textContent()).toBe('HTTP 200');
    expect(await latest.locator('td').nth(4).textContent()).toBe('manual retry');
    await until(() => page.locator('.badges-slot .badge').allTextContents()).not.toContain('Failing');
    await shot('delivery');
  });

  it('reveals the secret, rotates it, and the next webhook verifies with the new one', async () => {
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    const secret = page.locator('[data-secret]');
    await until(() => secret.textContent()).toMatch(/^whsec_/);
    const old = (await secret.textContent()) as string;
    expect(old).toBe((await api.get(`/v1/subscriptions/${endpointId}/secret`)).body.secret);

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('button', { name: 'Rotate now' }).click();
    await until(() => secret.textContent()).not.toBe(old);
    const fresh = (await secret.textContent()) as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).toBe((await api.get(`/v1/subscriptions/${endpointId}/secret`)).body.secret);

    const eventId = await sendTest();
    const [hook] = await waitFor('the webhook after the rotation', () => {
      const got = receiver.withId(eventId);
      return got.length ? got : undefined;
    });
    const headers = Object.fromEntries(
      Object.entries(hook?.headers ?? {}).map(([k, v]) => [k, String(v)]),
    ) as Record<string, string>;
    expect(new Webhook(fresh).verify(hook?.body ?? '', headers)).toMatchObject({ type: 'webhook.test' });
  });

  it('shows an event whose data holds markup as text, running none of it', async () => {
    const eventId = await api.send('order.shipped', {
      note: XSS,
      html: '<img src=x onerror="window.__pwned=2">',
    });
    await page.getByRole('button', { name: 'Refresh' }).click();
    await until(() => row(eventId).count()).toBe(1);
    await row(eventId).getByRole('link').click();
    const payload = panel().locator('pre.payload');
    await until(() => payload.textContent()).toContain(XSS);
    expect(await panel().locator('script, img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('body script').count()).toBe(0);
  });

  it('disables the endpoint', async () => {
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await until(() =>
      page.getByText('Endpoint disabled: it receives nothing until you enable it again.').isVisible(),
    ).toBe(true);
    expect((await api.get(`/v1/subscriptions/${endpointId}`)).body.enabled).toBe(false);
    expect(await page.getByRole('button', { name: 'Send test event' }).isDisabled()).toBe(true);
    await shot('endpoint');
    await page.getByRole('link', { name: '← All endpoints' }).click();
    await until(() => page.locator('li.endpoint-item .badge').allTextContents()).toEqual(['Disabled']);
  });

  it('keeps the session over a reload, signs out, and signs in with a pasted API key', async () => {
    await page.reload();
    await until(() => page.locator('li.endpoint-item').count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Portal token or API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(() => page.locator('li.endpoint-item').count()).toBe(1);
    // A link is opened from the keyboard with Enter.
    await page.locator('li.endpoint-item a').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/endpoints\/[^/]+$/);
  });

  it('broke no CSP rule and asked no other host for anything', () => {
    expect(problems).toEqual([]);
  });
});
