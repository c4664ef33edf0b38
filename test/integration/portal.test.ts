/**
 * The endpoint portal in a real browser (Chromium from the npm registry, @sparticuz/chromium)
 * against a real local relay and a real receiver: create an endpoint, test it, watch the log,
 * retry a failure, filter the log, recover a window, rotate the secret, disable it; an endpoint
 * with a filter, a custom header and Basic auth; field errors; the catalog; the 24 h success
 * rate; another tenant's or a made-up token sees nothing; an event that holds markup shows as
 * text. Screenshots of the main views go to docs/screenshots/ (RELAY_SCREENSHOTS=1).
 */

import { mkdtempSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { launchChromium } from '../support/browser.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { API_KEY, type client, settle, startTestRelay } from '../support/relay.ts';

/**
 * Screenshots of the views: into docs/screenshots/ with RELAY_SCREENSHOTS=1 (how the README's are
 * made), else into a temporary folder, so `npm test` leaves the checkout as it was.
 */
const SHOTS = process.env.RELAY_SCREENSHOTS
  ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
  : `${mkdtempSync(join(tmpdir(), 'relay-shots-'))}/`;
const XSS = '<script>window.__pwned=1</script>';
const ORDER_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' }, total: { type: 'number', minimum: 0 } },
};
const FILTER = '{"data": {"total": [{"numeric": [">", 100]}]}}';
/** A `datetime-local` value of an instant, in the browser's (and this process's) time zone. */
const localInput = (d: Date) =>
  new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

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
  /** The second endpoint: filter, custom header, Basic auth. */
  let filteredId = '';
  let markupEventId = '';
  let deadEventId = '';
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
    for (const [name, description, more] of [
      ['order.created', 'A customer placed an order', { schema: ORDER_SCHEMA }],
      ['user.signup', 'Someone created an account', {}],
      ['user.legacy', 'The old signup <em>event</em>', { deprecated: true }],
    ] as const) {
      const res = await api.post('/v1/event-types', {
        name,
        description,
        example: { id: `${name}.1` },
        ...more,
      });
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

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    // Loopback only: anything else the page asked for would be a fault of the portal.
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.hostname === '127.0.0.1') return route.continue();
      problems.push(`request to another host: ${u.href}`);
      return route.abort();
    });
    page = await openPage();
  });

  /** Moves the tab to another view of the app, as a link would (no reload). */
  const goHash = (tab: Page, hash: string) => tab.evaluate(`location.hash = ${JSON.stringify(hash)}`);

  /** A tab of its own (its own session storage), watched for page errors and CSP refusals. */
  const openPage = async () => {
    const p = await context.newPage();
    p.setDefaultTimeout(8000);
    p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    p.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });
    return p;
  };

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
    markupEventId = eventId;
  });

  it('filters the delivery log by status, event type and time, as query parameters', async () => {
    receiver.setBehaviour(() => 500);
    deadEventId = await sendTest();
    await until(() => row(deadEventId).locator('[data-status]').getAttribute('data-status')).toBe('dead');
    receiver.setBehaviour(() => 200);
    const statuses = () =>
      page
        .locator('table.deliveries [data-status]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    const status = page.getByLabel('Status', { exact: true });

    const dead = page.waitForRequest((r) => /\/deliveries\?.*status=dead/.test(r.url()));
    await status.selectOption('dead');
    await dead;
    await until(statuses).toEqual(['dead']);
    expect(await row(deadEventId).count()).toBe(1);

    await status.selectOption('succeeded');
    await until(async () => [...new Set(await statuses())]).toEqual(['succeeded']);
    expect(await row(deadEventId).count()).toBe(0);

    await status.selectOption('');
    await page.getByLabel('Event type', { exact: true }).fill('order.shipped');
    const typed = page.waitForRequest((r) => /\/deliveries\?.*eventType=order\.shipped/.test(r.url()));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await typed;
    await until(() => page.locator('table.deliveries tbody tr').count()).toBe(1);
    expect(await row(markupEventId).count()).toBe(1);

    // A window that starts in a minute holds nothing yet.
    await page.getByLabel('Event type', { exact: true }).fill('');
    await page
      .getByLabel('From', { exact: true })
      .first()
      .fill(localInput(new Date(Date.now() + 60_000)));
    const windowed = page.waitForRequest((r) => /\/deliveries\?.*from=/.test(r.url()));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await windowed;
    await until(() => page.getByText('No deliveries match these filters.').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Clear' }).click();
    await until(() => row(deadEventId).count()).toBe(1);
    expect(await page.locator('table.deliveries tbody tr').count()).toBeGreaterThan(3);
  });

  it('recovers a time window: the failed delivery is sent again; Continue goes on from next', async () => {
    const before = receiver.withId(deadEventId).length;
    const recover = page.locator('form.recover-form');
    await recover.getByRole('button', { name: 'Recover' }).click();
    await until(() => recover.locator('.recover-summary').textContent()).toMatch(
      /^1 failed delivery queued to be sent again \(\d+ looked at, events received from .+\)\.$/,
    );
    await waitFor('the recovered webhook', () => receiver.withId(deadEventId).length > before);
    await until(() => row(deadEventId).locator('[data-status]').textContent()).toBe('Succeeded');
    expect(await recover.getByRole('button', { name: 'Continue' }).count()).toBe(0);

    // More than one call's worth in the window (a thousand deliveries): the answer's `next` is
    // what Continue sends back. Too many to make here, so the relay's answers are stood in for.
    const bodies: Array<Record<string, unknown>> = [];
    await page.route('**/recover', async (route) => {
      bodies.push(route.request().postDataJSON());
      const next = bodies.length === 1 ? 'cursor-1' : null;
      await route.fulfill({
        status: 202,
        json: { queued: 2, scanned: bodies.length === 1 ? 1000 : 5, next },
      });
    });
    await recover.getByRole('button', { name: 'Recover' }).click();
    await until(() => recover.getByRole('button', { name: 'Continue' }).count()).toBe(1);
    await recover.getByRole('button', { name: 'Continue' }).click();
    await until(() => recover.locator('.recover-summary').textContent()).toMatch(
      /^4 failed deliveries queued .*\(1,005 looked at/,
    );
    await page.unroute('**/recover');
    expect(bodies[1]).toEqual({ ...bodies[0], cursor: 'cursor-1' });
    expect(Object.keys(bodies[0] ?? {}).sort()).toEqual(['from', 'to']);
    expect(await recover.getByRole('button', { name: 'Continue' }).count()).toBe(0);
  });

  it('shows the 24 h success rate on the endpoint and in the list', async ({ skip }) => {
    const stats = await api.get(`/v1/subscriptions/${endpointId}/stats`);
    if (stats.status === 404)
      skip('GET /v1/subscriptions/{id}/stats answers 404: no success rate to show yet');
    expect(stats.status).toBe(200);
    await settle(relay);
    const expected = async () => {
      const s = (await api.get(`/v1/subscriptions/${endpointId}/stats`)).body;
      const pct = (Math.floor(s.successRate * 1000 + 1e-9) / 10).toLocaleString('en-US', {
        maximumFractionDigits: 1,
      });
      return `${pct} % of ${s.deliveries} deliveries in 24 h${s.complete ? '' : ` (first ${s.deliveries})`}`;
    };
    await page.getByRole('button', { name: 'Refresh' }).click();
    const rate = page.locator('.endpoint-top .rate .rate-text');
    await until(async () => (await rate.textContent()) === (await expected())).toBe(true);
    expect(await rate.textContent()).toMatch(/^\d+(\.\d)? % of \d+ deliveries in 24 h$/);

    await page.getByRole('link', { name: '← All endpoints' }).click();
    const listed = page.locator('li.endpoint-item .rate-text');
    await until(() => listed.textContent()).toBe(await expected());
    await shot('endpoints');
    await page.locator('li.endpoint-item a.endpoint-url').click();
    await page.waitForURL(/#\/endpoints\/[^/]+$/);
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

  it('creates an endpoint with a filter, a custom header and Basic auth: the receiver gets them', async () => {
    await page.getByRole('link', { name: 'Endpoints', exact: true }).click();
    await until(() => page.getByLabel('order.created').isVisible()).toBe(true);
    await page.getByLabel('Endpoint URL').fill(`${receiver.url}/filtered`);
    await page.getByLabel('order.created').check();
    await page.getByLabel('Filter (optional)').fill(FILTER);
    await page.getByRole('button', { name: 'Add a header' }).click();
    await page.getByLabel('Header name').fill('X-Route');
    await page.getByLabel('Header value').fill('blue');
    await page.getByLabel('Authentication', { exact: true }).selectOption('basic');
    await page.getByLabel('Username').fill('relay');
    await page.getByLabel('Password').fill('s3cret:pass');
    await shot('create-auth');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.waitForURL(/#\/endpoints\/[^/]+$/);
    filteredId = decodeURIComponent(new URL(page.url()).hash.split('/')[2] as string);
    expect(filteredId).not.toBe(endpointId);
    const stored = (await api.get(`/v1/subscriptions/${filteredId}`)).body;
    expect(stored).toMatchObject({
      eventTypes: ['order.created'],
      filter: JSON.parse(FILTER),
      headers: { 'x-route': 'blue' },
      auth: { type: 'basic', username: 'relay' },
    });
    expect(stored.auth.password).toBeUndefined();

    // The page shows the type and the username as the API returns them; the password nowhere.
    await until(() => page.locator('.auth-current').textContent()).toContain('HTTP Basic, username relay');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    expect(await page.getByLabel('Username').inputValue()).toBe('relay');
    expect(await page.getByLabel('Header name').inputValue()).toBe('x-route');
    expect(JSON.parse(await page.getByLabel('Filter (optional)').inputValue())).toEqual(JSON.parse(FILTER));
    expect(await page.content()).not.toContain('s3cret');

    const small = await api.send('order.created', { id: 'o-1', total: 5 });
    const big = await api.send('order.created', { id: 'o-2', total: 150 });
    const atFiltered = (id: string) => receiver.withId(id).filter((r) => r.path === '/filtered');
    const [hook] = await waitFor('the matching webhook', () => {
      const got = atFiltered(big);
      return got.length ? got : undefined;
    });
    expect(hook?.headers['x-route']).toBe('blue');
    expect(hook?.headers.authorization).toBe(`Basic ${Buffer.from('relay:s3cret:pass').toString('base64')}`);
    await settle(relay);
    expect(atFiltered(small)).toEqual([]);
    const smallEvent = (await api.get(`/v1/events/${small}`)).body;
    expect(
      smallEvent.deliveries.filter((d: { subscriptionId: string }) => d.subscriptionId === filteredId),
    ).toEqual([]);
  });

  it('keeps the stored auth when an edit leaves its secret empty', async () => {
    await page.getByLabel('Description (optional)').fill('Big orders only');
    const patch = page.waitForRequest((r) => r.method() === 'PATCH');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const sent = (await patch).postDataJSON();
    expect(sent.description).toBe('Big orders only');
    expect(sent).not.toHaveProperty('auth');
    expect(sent).not.toHaveProperty('filter');
    expect(sent).not.toHaveProperty('headers');
    await until(() => page.getByText('Changes saved.').isVisible()).toBe(true);
    const again = await api.send('order.created', { id: 'o-3', total: 500 });
    const [hook] = await waitFor('the webhook after the edit', () => {
      const got = receiver.withId(again);
      return got.length ? got : undefined;
    });
    expect(hook?.headers.authorization).toBe(`Basic ${Buffer.from('relay:s3cret:pass').toString('base64')}`);
  });

  it("checks the filter's JSON in the browser and shows the API's errors at their fields", async () => {
    const filter = page.getByLabel('Filter (optional)');
    const patches: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'PATCH') patches.push(r.url());
    };
    page.on('request', onRequest);
    await filter.fill('{"data": ');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const errorOf = async (locator: ReturnType<Page['locator']>) => {
      const ids = ((await locator.getAttribute('aria-describedby')) ?? '').split(' ');
      const texts = await Promise.all(
        ids.map((id) => page.locator(`[id="${id}"].field-error`).allTextContents()),
      );
      return texts.flat().join(' ');
    };
    await until(() => errorOf(filter)).toContain('is not valid JSON');
    expect(await filter.getAttribute('aria-invalid')).toBe('true');
    expect(patches).toEqual([]); // refused in the browser: nothing sent

    // Valid JSON the relay refuses, and a header it refuses: each message at its own field.
    await filter.fill('{"data": {"total": [{"numeric": [">", "a hundred"]}]}}');
    await page.getByRole('button', { name: 'Add another header' }).click();
    await page.getByLabel('Header name').nth(1).fill('Authorization');
    await page.getByLabel('Header value').nth(1).fill('Bearer x');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await until(() => errorOf(filter)).toContain('at data.total.0.numeric.1: numeric needs an operator');
    expect(patches).toHaveLength(1);
    const headerName = page.getByLabel('Header name').nth(1);
    expect(await errorOf(headerName)).toContain('may not be set: authorization carries credentials');
    expect(await headerName.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Header name').first().getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('.form-errors [role="alert"]').textContent()).toContain('Not saved');
    // OAuth 2.0: a bad token URL shows at that field.
    await page.getByLabel('Header name').nth(1).fill('');
    await page.getByLabel('Header value').nth(1).fill('');
    await filter.fill(FILTER);
    await page.getByLabel('Authentication', { exact: true }).selectOption('oauth2');
    await page.getByLabel('Token URL').fill('ftp://auth.example.com/token');
    await page.getByLabel('Client id').fill('relay');
    await page.getByLabel('Client secret').fill('x');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await until(() => errorOf(page.getByLabel('Token URL'))).toContain(
      'must be an absolute http:// or https:// URL',
    );
    page.off('request', onRequest);
    expect((await api.get(`/v1/subscriptions/${filteredId}`)).body).toMatchObject({
      filter: JSON.parse(FILTER),
      headers: { 'x-route': 'blue' },
      auth: { type: 'basic', username: 'relay' },
    });
    await page.reload();
    await until(() => page.locator('.auth-current').isVisible()).toBe(true);
  });

  it('lists the event-type catalog with each schema and example, as text', async () => {
    await page.getByRole('link', { name: 'Event types' }).click();
    await page.waitForURL(/#\/event-types$/);
    const card = (name: string) => page.locator(`li.event-type[data-type="${name}"]`);
    await until(() => page.locator('li.event-type').count()).toBe(3);
    expect(await card('order.created').locator('pre.schema').textContent()).toBe(
      JSON.stringify(ORDER_SCHEMA, null, 2),
    );
    expect(await card('order.created').locator('pre.example').textContent()).toBe(
      JSON.stringify({ id: 'order.created.1' }, null, 2),
    );
    expect(await card('order.created').locator('.description').textContent()).toBe(
      'A customer placed an order',
    );
    expect(await card('user.signup').getByText('No schema').count()).toBe(1);
    expect(await card('user.legacy').locator('.badge').textContent()).toBe('Deprecated');
    expect(await card('user.legacy').locator('.description').textContent()).toBe(
      'The old signup <em>event</em>',
    );
    expect(await card('user.legacy').locator('em').count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Event types' }).getAttribute('aria-current')).toBe('page');
    await shot('event-types');
  });

  it("another tenant's session or a made-up token sees nothing of this tenant", async () => {
    const other = await api.admin.post('/v1/portal-sessions', { tenant: 'other-tenant' });
    expect(other.status).toBe(201);
    const otherToken = decodeURIComponent(new URL(other.body.url).hash.replace(/^#token=/, ''));
    const tab = await openPage();
    try {
      await tab.goto(`${relay.url}/portal#token=${otherToken}`);
      await until(() => tab.getByText('No endpoints yet — add one with the form below.').isVisible()).toBe(
        true,
      );
      expect(await tab.locator('li.endpoint-item').count()).toBe(0);
      for (const id of [endpointId, filteredId]) {
        const answer = tab.waitForResponse((r) =>
          r.url().endsWith(`/v1/subscriptions/${encodeURIComponent(id)}`),
        );
        await goHash(tab, `#/endpoints/${encodeURIComponent(id)}`);
        expect((await answer).status()).toBe(404);
        await until(() => tab.getByText('This endpoint does not exist').isVisible()).toBe(true);
        expect(await tab.locator('h2.endpoint-title').textContent()).toBe('Endpoint not available');
        expect(await tab.locator('.endpoint-body').isVisible()).toBe(false);
      }
      await goHash(tab, '#/event-types');
      await until(() => tab.getByText('The catalog lists no event types yet.').isVisible()).toBe(true);
      expect(await tab.content()).not.toContain(receiver.url);

      // A made-up token: refused, and the endpoint's page shows the sign-in, nothing else.
      await goHash(tab, '#token=ps_made-up-token');
      await until(() =>
        tab.getByText('The session expired or was revoked: ask for a new portal link.').isVisible(),
      ).toBe(true);
      await goHash(tab, `#/endpoints/${encodeURIComponent(endpointId)}`);
      await until(() => tab.getByLabel('Portal token or API key').isVisible()).toBe(true);
      expect(await tab.content()).not.toContain(receiver.url);
    } finally {
      await tab.close();
    }
  });

  it('broke no CSP rule and asked no other host for anything', () => {
    expect(problems).toEqual([]);
  });
});

describe('an expired portal link, in Chromium', () => {
  it('shows the tenant’s endpoints until the session expires, then says to ask for a new link', async () => {
    let now = Date.now();
    const clock = { now: () => new Date(now) };
    const { relay, api } = await startTestRelay([0.05], { clock });
    const browser = await launchChromium();
    try {
      await api.subscribe('http://127.0.0.1:9/expiring', ['order.*'], {
        description: 'expiring-session endpoint',
      });
      const link = (await api.post('/v1/portal-sessions', { expiresInSeconds: 60 })).body.url as string;
      const page = await (await browser.newContext()).newPage();
      await page.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
      await page.goto(link.replace(/^http:\/\/[^/]+/, relay.url));
      await expect
        .poll(() => page.getByText('expiring-session endpoint').count(), { timeout: 10_000 })
        .toBe(1);
      now += 61_000; // past the session's end (the relay's clock)
      await page.reload();
      await expect
        .poll(
          () => page.getByText('The session expired or was revoked: ask for a new portal link.').count(),
          {
            timeout: 10_000,
          },
        )
        .toBe(1);
      expect(await page.getByText('expiring-session endpoint').count()).toBe(0);
    } finally {
      await browser.close();
      await relay.close();
    }
  });
});
