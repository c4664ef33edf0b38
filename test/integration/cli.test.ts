import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, run } from '../../cli/main.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { client, settle, startTestRelay } from '../support/relay.ts';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Runs the CLI in process against the relay, as `npx relay ...` would, capturing its output. */
function cli(relay: LocalRelay, argv: string[], signal?: AbortSignal, key = relay.apiKey) {
  const out: string[] = [];
  const err: string[] = [];
  const done = run(argv, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    isTTY: false,
    env: { RELAY_URL: relay.url, RELAY_API_KEY: key },
    ...(signal ? { signal } : {}),
  });
  return {
    out,
    err,
    text: () => out.join(''),
    result: done.then((code) => ({ code, stdout: out.join(''), stderr: err.join('') })),
  };
}

describe('relay CLI against the local runtime', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  const receivers: Receiver[] = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };

  beforeEach(async () => {
    ({ relay, api } = await startTestRelay([0.05, 0.05]));
  });
  afterEach(async () => {
    await relay.close();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('dlq redrive drains 120 dead deliveries with progress, and each is then delivered exactly once', async () => {
    const rx = await receiver(() => 503);
    await api.subscribe(rx.url, ['order.*']);
    const events = Array.from({ length: 120 }, (_, i) => ({ type: 'order.created', data: { n: i } }));
    const sent = await api.post('/v1/events/batch', { events: events.slice(0, 100) });
    const sent2 = await api.post('/v1/events/batch', { events: events.slice(100) });
    const ids: string[] = [...sent.body.ids, ...sent2.body.ids];
    await waitFor(
      '120 dead deliveries in the DLQ',
      async () =>
        (await api.get('/v1/dlq')).body.count === 120 && relay.queues.deliveryDlq.depth().total === 120,
      30_000,
    );
    const listed = await cli(relay, ['dlq', 'list', '--json']).result;
    expect(listed.code).toBe(EXIT.ok);
    expect(JSON.parse(listed.stdout).count).toBe(120);

    const recoveredAt = Date.now();
    rx.setBehaviour(() => 200);
    const redrive = await cli(relay, ['dlq', 'redrive'], undefined, relay.adminKey).result;
    expect(redrive.code).toBe(EXIT.ok);
    const lines = redrive.stdout.trim().split('\n');
    // Progress as the move goes (the local move task, like SQS's, moves in steps), then done.
    expect(lines[0]).toMatch(/^redrive \[#*\.+\] \d+\/120 RUNNING$/);
    expect(lines.at(-1)).toMatch(/^redrive \[#{30}\] 120\/120 COMPLETED$/);

    await waitFor(
      'every redriven delivery',
      () => ids.every((id) => rx.withId(id).some((r) => r.at >= recoveredAt)),
      30_000,
    );
    await settle(relay);
    for (const id of ids) {
      const afterRecovery = rx.withId(id).filter((r) => r.at >= recoveredAt);
      expect(afterRecovery, `deliveries of ${id} after the redrive`).toHaveLength(1);
    }
    const after = await cli(relay, ['dlq', 'list', '--json']).result;
    expect(JSON.parse(after.stdout).count).toBe(0);
    expect(relay.queues.deliveryDlq.depth().total).toBe(0);
  }, 60_000);

  it('dlq redrive reports a redrive that is already complete when the DLQ is empty', async () => {
    const res = await cli(relay, ['dlq', 'redrive', '--json'], undefined, relay.adminKey).result;
    expect(res.code).toBe(EXIT.ok);
    expect(JSON.parse(res.stdout)).toEqual({ status: 'COMPLETED', moved: 0, total: 0 });
  });

  it("replay re-delivers the window's events, and only those, as new deliveries with the same webhook-id", async () => {
    const rx = await receiver();
    const sub = await api.subscribe(rx.url, ['shipment.*']);
    const before = await api.send('shipment.created');
    await settle(relay);
    await new Promise((r) => setTimeout(r, 20));
    const from = new Date().toISOString();
    const inWindow = [await api.send('shipment.picked'), await api.send('shipment.delivered')];
    await settle(relay);
    const to = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const after = await api.send('shipment.returned');
    await settle(relay);
    expect(rx.received).toHaveLength(4);

    const res = await cli(relay, ['replay', '--from', from, '--to', to], undefined, relay.adminKey).result;
    expect(res.code).toBe(EXIT.ok);
    expect(res.stdout).toMatch(/COMPLETED 2 events/);
    await waitFor('the replayed deliveries', () => rx.received.length === 6);
    await settle(relay);
    for (const id of inWindow) expect(rx.withId(id)).toHaveLength(2);
    expect(rx.withId(before)).toHaveLength(1);
    expect(rx.withId(after)).toHaveLength(1);

    const event = await api.get(`/v1/events/${inWindow[0]}`);
    expect(event.body.deliveries).toHaveLength(2);
    const replayed = event.body.deliveries.find((d: { replay?: string }) => d.replay);
    expect(replayed).toMatchObject({ status: 'succeeded', subscriptionId: sub.id });
    expect(replayed.replay).toMatch(/^replay-/);
  });

  it('tail prints attempts as they happen, failures and the retry that succeeds', async () => {
    const rx = await receiver((n) => (n === 1 ? 500 : 200));
    await api.subscribe(rx.url, ['*']);
    const controller = new AbortController();
    const tail = cli(relay, ['tail', '--interval', '50'], controller.signal);
    await waitFor('tail to start', () => tail.text().includes('following attempts'));
    const id = await api.send('route.updated');
    const output = await waitFor('both attempts in the tail', () => {
      const lines = tail
        .text()
        .split('\n')
        .filter((l) => l.includes('route.updated'));
      return lines.length >= 2 ? lines : undefined;
    });
    controller.abort();
    const { code } = await tail.result;
    expect(code).toBe(EXIT.ok);
    expect(output[0]).toMatch(
      / ERR 500 .* #1 scheduled route\.updated dlv_[\w-]+ -> http:\/\/127\.0\.0\.1:\d+ \(HTTP 500\)/,
    );
    expect(output[1]).toMatch(/ ok {2}200 .* #2 scheduled route\.updated/);
    expect(rx.withId(id)).toHaveLength(2);
    // Each attempt is printed once, however many polls see it.
    await new Promise((r) => setTimeout(r, 150));
    expect(
      tail
        .text()
        .split('\n')
        .filter((l) => l.includes('route.updated')),
    ).toHaveLength(2);
  });

  it('manages subscriptions, sends events and reads the delivery log', async () => {
    const rx = await receiver();
    const created = await cli(relay, [
      'subscriptions',
      'create',
      '--endpoint',
      rx.url,
      '--types',
      'a.b,c.*',
      '--json',
    ]).result;
    expect(created.code).toBe(EXIT.ok);
    const sub = JSON.parse(created.stdout);
    expect(sub).toMatchObject({ url: rx.url, eventTypes: ['a.b', 'c.*'], enabled: true });
    expect(sub.secret).toMatch(/^whsec_/);

    const listed = await cli(relay, ['subs', 'list']).result;
    expect(listed.stdout).toMatch(/^ID\s+URL\s+EVENTTYPES\s+ENABLED/);
    expect(listed.stdout).toContain(sub.id);

    const sent = await cli(relay, ['send', 'c.d', '--data', '{"x":1}']).result;
    expect(sent.stdout).toMatch(/^accepted evt_/);
    await waitFor('the delivery', () => rx.received.length === 1);
    await settle(relay);

    const deliveries = await cli(relay, ['deliveries', 'list', sub.id, '--json']).result;
    const [d] = JSON.parse(deliveries.stdout).deliveries;
    expect(d).toMatchObject({ status: 'succeeded', eventType: 'c.d' });
    const shown = await cli(relay, ['deliveries', 'get', d.id]).result;
    expect(shown.stdout).toMatch(/status:\s+succeeded/);
    expect(shown.stdout).toMatch(/ATTEMPT\s+AT\s+STATUS/);

    const retried = await cli(relay, ['deliveries', 'retry', d.id]).result;
    expect(retried.code).toBe(EXIT.ok);
    await waitFor('the manual retry', () => rx.received.length === 2);

    const updated = await cli(relay, ['subscriptions', 'update', sub.id, '--disable', '--json']).result;
    expect(JSON.parse(updated.stdout).enabled).toBe(false);
    const deleted = await cli(relay, ['subscriptions', 'delete', sub.id]).result;
    expect(deleted.stdout).toBe(`deleted ${sub.id}\n`);
  });

  it('sets and removes an endpoint’s in-flight and rate limits, and names a limit out of range', async () => {
    const created = await cli(relay, [
      'subscriptions',
      'create',
      '--endpoint',
      'http://127.0.0.1:9/hook',
      '--types',
      'order.*',
      '--max-in-flight',
      '8',
      '--rate-limit',
      '25',
      '--json',
    ]).result;
    expect(created.code).toBe(EXIT.ok);
    const sub = JSON.parse(created.stdout);
    expect(sub).toMatchObject({ maxInFlight: 8, rateLimitPerSecond: 25 });
    const removed = await cli(relay, ['subscriptions', 'update', sub.id, '--rate-limit', 'none', '--json'])
      .result;
    expect(JSON.parse(removed.stdout)).not.toHaveProperty('rateLimitPerSecond');
    expect(JSON.parse(removed.stdout).maxInFlight).toBe(8);
    const tooMany = await cli(relay, ['subscriptions', 'update', sub.id, '--max-in-flight', '501']).result;
    expect(tooMany.code).toBe(EXIT.failed);
    expect(tooMany.stderr).toMatch(/maxInFlight: must be at most 500/);
    const notANumber = await cli(relay, ['subscriptions', 'update', sub.id, '--rate-limit', 'fast']).result;
    expect(notANumber.code).toBe(EXIT.usage);
    expect(notANumber.stderr).toMatch(/--rate-limit must be a number/);
  });

  it('makes a subscription ordered and unordered again, and names a wrong ordering', async () => {
    const created = await cli(relay, [
      'subscriptions',
      'create',
      '--endpoint',
      'http://127.0.0.1:9/hook',
      '--types',
      'route.*',
      '--ordering',
      'fifo',
      '--json',
    ]).result;
    expect(created.code).toBe(EXIT.ok);
    const sub = JSON.parse(created.stdout);
    expect(sub.ordering).toBe('fifo');
    const unordered = await cli(relay, ['subscriptions', 'update', sub.id, '--ordering', 'none', '--json'])
      .result;
    expect(JSON.parse(unordered.stdout)).not.toHaveProperty('ordering');
    const wrong = await cli(relay, ['subscriptions', 'update', sub.id, '--ordering', 'lifo']).result;
    expect(wrong.code).toBe(EXIT.usage);
    expect(wrong.stderr).toMatch(/--ordering must be "none" or "fifo"/);
  });

  it('deliveries recover re-sends the dead deliveries of a window once the endpoint is back', async () => {
    const rx = await receiver(() => 410);
    const sub = await api.subscribe(rx.url, ['*']);
    const from = new Date().toISOString();
    const ids = [await api.send('x.y'), await api.send('x.z')];
    await waitFor('two dead deliveries', async () => (await api.get('/v1/dlq')).body.count === 2);
    rx.setBehaviour(() => 200);
    const res = await cli(relay, ['deliveries', 'recover', sub.id, '--from', from]).result;
    expect(res.code).toBe(EXIT.ok);
    expect(res.stdout).toBe('2 deliveries re-sent (2 looked at)\n');
    await waitFor('both recovered', async () => (await api.get('/v1/dlq')).body.count === 0);
    for (const id of ids) expect(rx.withId(id).at(-1)?.headers['webhook-id']).toBe(id);
  });

  it('exits 2 with usage on bad input, 1 with the API error when the relay refuses, 3 when unreachable', async () => {
    const usage = await cli(relay, ['subscriptions', 'create', '--types', 'a']).result;
    expect(usage.code).toBe(EXIT.usage);
    expect(usage.stderr).toMatch(/missing --endpoint/);
    expect((await cli(relay, ['dlq', 'list', '--limit', 'zero']).result).code).toBe(EXIT.usage);
    expect((await cli(relay, ['nope']).result).code).toBe(EXIT.usage);
    expect((await cli(relay, ['deliveries', 'list', 'sub_1', '--bogus']).result).code).toBe(EXIT.usage);

    const refused = await cli(relay, ['deliveries', 'get', 'dlv_missing']).result;
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toBe('error: delivery dlv_missing not found (HTTP 404 not_found)\n');
    const badWindow = await cli(relay, ['replay', '--from', 'yesterday'], undefined, relay.adminKey).result;
    expect(badWindow.code).toBe(EXIT.failed);
    expect(badWindow.stderr).toMatch(/from: must be an ISO 8601 date-time/);

    const wrongKey = await cli(relay, ['dlq', 'list', '--key', 'wrong']).result;
    expect(wrongKey.code).toBe(EXIT.failed);
    expect(wrongKey.stderr).toMatch(/HTTP 401/);

    const unreachable = await cli(relay, ['dlq', 'list', '--url', 'http://127.0.0.1:9']).result;
    expect(unreachable.code).toBe(EXIT.unreachable);
  });

  it('prints help for every command, group and the whole CLI with exit 0', async () => {
    expect((await cli(relay, ['--help']).result).stdout).toMatch(/Commands:\n {2}send/);
    expect((await cli(relay, ['dlq', '--help']).result).stdout).toMatch(/dlq redrive/);
    expect((await cli(relay, ['event-types', '--help']).result).stdout).toMatch(/event-types update/);
    for (const argv of [
      ['send'],
      ['subscriptions', 'create'],
      ['subscriptions', 'update'],
      ['subscriptions', 'test'],
      ['event-types', 'create'],
      ['event-types', 'update'],
      ['events', 'list'],
      ['dlq', 'redrive'],
      ['replay'],
      ['tail'],
    ]) {
      const res = await cli(relay, [...argv, '--help']).result;
      expect(res.code).toBe(EXIT.ok);
      expect(res.stdout).toMatch(new RegExp(`^Usage: relay ${argv.join(' ')}`));
    }
  });

  it('sets a filter, custom headers, endpoint auth and the format, shows them, and removes them', async () => {
    const rx = await receiver();
    const filter = { data: { total: [{ numeric: ['>', 100] }] } };
    const created = await cli(relay, [
      'subscriptions',
      'create',
      '--endpoint',
      rx.url,
      '--types',
      'order.*',
      '--filter',
      JSON.stringify(filter),
      '--header',
      'X-Tenant: acme',
      '--header',
      'x-route:eu',
      '--auth',
      'basic:alice:s3cr:et',
      '--format',
      'xml',
      '--json',
    ]).result;
    expect(created.code, created.stderr).toBe(EXIT.ok);
    const sub = JSON.parse(created.stdout);
    expect(sub).toMatchObject({
      filter,
      headers: { 'x-tenant': 'acme', 'x-route': 'eu' },
      // Shown in full this once, like the signing secret; the password keeps its colon.
      auth: { type: 'basic', username: 'alice', password: 's3cr:et' },
      format: 'xml',
    });

    const shown = await cli(relay, ['subscriptions', 'get', sub.id]).result;
    expect(shown.stdout).toMatch(/^format:\s+xml$/m);
    expect(shown.stdout).toContain('{"data":{"total":[{"numeric":[">",100]}]}}');
    expect(shown.stdout).toMatch(/^headers:\s+x-tenant: acme; x-route: eu$/m);
    expect(shown.stdout).toMatch(/^auth:\s+basic \(username=alice\)$/m);
    const listed = await cli(relay, ['subscriptions', 'list']).result;
    expect(listed.stdout).toMatch(/^ID\s+URL\s+EVENTTYPES\s+ENABLED\s+FORMAT\s+FILTER\s+HEADERS\s+AUTH/);
    expect(listed.stdout).toMatch(/\sxml\s.*basic \(username=alice\)/);
    for (const out of [shown.stdout, listed.stdout]) expect(out).not.toContain('s3cr:et');

    // The filter decides, and send says so: only the big order reaches the receiver, with the
    // subscription's headers and its basic auth, as XML.
    const big = await cli(relay, ['send', 'order.paid', '--data', '{"total":150}']).result;
    expect(big.stdout).toMatch(/^accepted evt_\S+\nmatched 1 subscription\n$/);
    expect(big.stderr).toBe('');
    const small = await cli(relay, ['send', 'order.paid', '--data', '{"total":5}']).result;
    expect(small.code).toBe(EXIT.ok);
    expect(small.stdout).toMatch(/\nmatched 0 subscriptions\n$/);
    expect(small.stderr).toMatch(
      /^warning: no enabled subscription matches order\.paid \(1 of its type filtered it out\)/,
    );
    await waitFor('the filtered delivery', () => rx.received.length === 1);
    await settle(relay);
    expect(rx.received).toHaveLength(1);
    const [got] = rx.received;
    expect(got?.headers).toMatchObject({
      'x-tenant': 'acme',
      'x-route': 'eu',
      authorization: `Basic ${Buffer.from('alice:s3cr:et').toString('base64')}`,
    });
    expect(got?.headers['content-type']).toMatch(/^application\/xml/);

    const update = async (...args: string[]) => {
      const res = await cli(relay, ['subscriptions', 'update', sub.id, ...args, '--json']).result;
      expect(res.code, res.stderr).toBe(EXIT.ok);
      return JSON.parse(res.stdout);
    };
    // --header replaces the whole set; bearer and oauth2 credentials never come back.
    expect((await update('--header', 'x-only:1', '--auth', 'bearer:tok_123')).headers).toEqual({
      'x-only': '1',
    });
    const oauth = await update(
      '--auth',
      'oauth2:{"tokenUrl":"http://127.0.0.1:9/token","clientId":"relay","clientSecret":"cs_1","scope":"hooks"}',
    );
    expect(oauth.auth).toEqual({
      type: 'oauth2',
      tokenUrl: 'http://127.0.0.1:9/token',
      clientId: 'relay',
      scope: 'hooks',
    });
    expect(JSON.stringify(oauth)).not.toContain('cs_1');
    expect((await update('--filter', 'null')).filter).toBeUndefined();
    expect((await update('--filter', '{"type":["order.paid"]}')).filter).toEqual({ type: ['order.paid'] });
    const cleared = await update('--no-filter', '--no-headers', '--no-auth', '--format', 'json');
    for (const field of ['filter', 'headers', 'auth']) expect(cleared).not.toHaveProperty(field);
    expect(cleared.format).toBe('json');

    const usage = async (argv: string[], message: RegExp) => {
      const res = await cli(relay, argv).result;
      expect(res.code, argv.join(' ')).toBe(EXIT.usage);
      expect(res.stderr).toMatch(message);
      return res;
    };
    const create = ['subscriptions', 'create', '--endpoint', rx.url, '--types', 'a.b'];
    const leaked = await usage([...create, '--auth', 'hunter2'], /--auth must be one of basic:/);
    expect(leaked.stderr).not.toContain('hunter2');
    await usage([...create, '--format', 'yaml'], /--format must be "json" or "xml", got "yaml"/);
    await usage([...create, '--filter', 'null'], /--filter null only removes a filter/);
    await usage([...create, '--filter', '[1]'], /--filter must be a JSON object/);
    await usage([...create, '--filter', '{nope'], /--filter is not valid JSON/);
    await usage([...create, '--header', 'no-colon'], /--header must be name:value/);
    await usage([...create, '--no-auth'], /Unknown option '--no-auth'/);
    await usage(['subscriptions', 'update', sub.id, '--filter', '{}', '--no-filter'], /exclude each other/);
    // The API's own checks come back naming the field.
    const reserved = await cli(relay, [...create, '--header', 'webhook-id:x']).result;
    expect(reserved.code).toBe(EXIT.failed);
    expect(reserved.stderr).toMatch(/headers/);
  });

  it('send warns when no subscription matches, and keeps --json output to the API’s answer', async () => {
    const none = await cli(relay, ['send', 'invoice.paid']).result;
    expect(none.code).toBe(EXIT.ok);
    expect(none.stdout).toMatch(/^accepted evt_\S+\nmatched 0 subscriptions\n$/);
    expect(none.stderr).toBe(
      'warning: no enabled subscription matches invoice.paid; nothing will be delivered. Subscribe an endpoint with:\n' +
        '  relay subscriptions create --endpoint <url> --types invoice.paid\n',
    );
    const disabled = await api.subscribe('http://127.0.0.1:9/hook', ['invoice.*'], { enabled: false });
    const json = await cli(relay, ['send', 'invoice.paid', '--json']).result;
    expect(JSON.parse(json.stdout)).toEqual({ id: expect.stringMatching(/^evt_/) });
    expect(json.stderr).toMatch(/matches invoice\.paid \(1 of its type disabled\)/);
    await api.patch(`/v1/subscriptions/${disabled.id}`, { enabled: true });
    await api.subscribe('http://127.0.0.1:9/other', ['*']);
    const two = await cli(relay, ['send', 'invoice.paid', '--data', '@/dev/null']).result;
    expect(two.code).toBe(EXIT.usage); // an empty file is not JSON
    const matched = await cli(relay, ['send', 'invoice.paid']).result;
    expect(matched.stdout).toMatch(/\nmatched 2 subscriptions\n$/);
    expect(matched.stderr).toBe('');
  });

  it('manages the event-type catalog, and a subscription test sends the type’s example', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-cli-'));
    try {
      const schema = {
        type: 'object',
        properties: { invoiceId: { type: 'string' }, amount: { type: 'number' } },
        required: ['invoiceId'],
      };
      await writeFile(join(dir, 'schema.json'), JSON.stringify(schema));
      const created = await cli(relay, [
        'event-types',
        'create',
        'invoice.paid',
        '--description',
        'An invoice was paid in full',
        '--schema',
        `@${join(dir, 'schema.json')}`,
        '--example',
        '{"invoiceId":"INV-1","amount":42}',
      ]).result;
      expect(created.code, created.stderr).toBe(EXIT.ok);
      expect(created.stdout).toMatch(/^name:\s+invoice\.paid$/m);
      expect(created.stdout).toMatch(/^deprecated:\s+false$/m);
      expect(created.stdout).toContain('schema:\n  {\n    "type": "object",');
      expect(created.stdout).toContain('example:\n  {\n    "invoiceId": "INV-1",\n    "amount": 42\n  }\n');
      await cli(relay, ['event-types', 'create', 'invoice.voided', '--deprecated']).result;

      const listed = await cli(relay, ['event-types', 'list']).result;
      expect(listed.stdout).toMatch(/^NAME\s+DESCRIPTION\s+DEPRECATED\s+SCHEMA\s+EXAMPLE/);
      expect(listed.stdout).toMatch(/invoice\.paid\s+An invoice was paid in full\s+false\s+yes\s+yes/);
      expect(listed.stdout).toMatch(/invoice\.voided\s+-\s+true\s+no\s+no/);

      // The schema is enforced at ingest; the example is what a test of the type sends.
      const refused = await cli(relay, ['send', 'invoice.paid', '--data', '{"amount":1}']).result;
      expect(refused.code).toBe(EXIT.failed);
      expect(refused.stderr).toMatch(/invoiceId/);
      const rx = await receiver();
      const sub = await api.subscribe(rx.url, ['invoice.*']);
      const tested = await cli(relay, ['subscriptions', 'test', sub.id, '--event-type', 'invoice.paid'])
        .result;
      expect(tested.code, tested.stderr).toBe(EXIT.ok);
      expect(tested.stdout).toMatch(/^test event evt_\S+ \(invoice\.paid\) sent\n$/);
      const [hook] = await waitFor('the test event', () => (rx.received.length ? rx.received : undefined));
      expect(JSON.parse(hook?.body ?? '{}')).toMatchObject({
        type: 'invoice.paid',
        data: { invoiceId: 'INV-1', amount: 42 },
      });
      const plain = await cli(relay, ['subscriptions', 'test', sub.id, '--json']).result;
      expect(JSON.parse(plain.stdout).id).toMatch(/^evt_/);

      const updated = await cli(relay, [
        'event-types',
        'update',
        'invoice.paid',
        '--no-schema',
        '--no-description',
        '--deprecated',
        '--json',
      ]).result;
      expect(updated.code, updated.stderr).toBe(EXIT.ok);
      const after = JSON.parse(updated.stdout);
      expect(after).toMatchObject({
        name: 'invoice.paid',
        deprecated: true,
        example: { invoiceId: 'INV-1' },
      });
      expect(after).not.toHaveProperty('schema');
      expect(after).not.toHaveProperty('description');
      const back = await cli(relay, [
        'event-types',
        'update',
        'invoice.paid',
        '--not-deprecated',
        '--no-example',
        '--json',
      ]).result;
      expect(JSON.parse(back.stdout)).toMatchObject({ deprecated: false });
      expect(JSON.parse(back.stdout)).not.toHaveProperty('example');
      const got = await cli(relay, ['event-types', 'get', 'invoice.paid']).result;
      expect(got.stdout).toMatch(/^deprecated:\s+false$/m);
      expect(got.stdout).not.toContain('schema:\n');

      expect((await cli(relay, ['event-types', 'update', 'invoice.paid']).result).code).toBe(EXIT.usage);
      expect(
        (
          await cli(relay, ['event-types', 'update', 'invoice.paid', '--deprecated', '--not-deprecated'])
            .result
        ).code,
      ).toBe(EXIT.usage);
      const deleted = await cli(relay, ['types', 'delete', 'invoice.paid']).result;
      expect(deleted.stdout).toBe('deleted invoice.paid\n');
      const gone = await cli(relay, ['event-types', 'get', 'invoice.paid']).result;
      expect(gone.code).toBe(EXIT.failed);
      expect(gone.stderr).toMatch(/HTTP 404/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('events list pages through events newest first, and events get shows the payload', async () => {
    const rx = await receiver();
    await api.subscribe(rx.url, ['parcel.*']);
    const first = await api.send('parcel.scanned', { parcel: 'P-1', depot: { city: 'Ghent' } });
    await new Promise((r) => setTimeout(r, 5));
    const second = await api.send('parcel.delivered', { parcel: 'P-1' });
    await settle(relay);

    const listed = await cli(relay, ['events', 'list']).result;
    expect(listed.code, listed.stderr).toBe(EXIT.ok);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+RECEIVEDAT$/);
    expect(lines[1]).toMatch(new RegExp(`^${second}\\s+parcel\\.delivered\\s+\\d{4}-\\d\\d-\\d\\dT`));
    expect(lines[2]).toMatch(new RegExp(`^${first}\\s+parcel\\.scanned\\s`));

    const typed = await cli(relay, ['events', 'list', '--type', 'parcel.scanned', '--json']).result;
    expect(JSON.parse(typed.stdout).events.map((e: { id: string }) => e.id)).toEqual([first]);
    const page1 = await cli(relay, ['events', 'list', '--limit', '1']).result;
    const cursor = /more: --cursor (\S+)/.exec(page1.stdout)?.[1];
    expect(page1.stdout).toContain(second);
    expect(cursor).toBeDefined();
    const page2 = await cli(relay, ['events', 'list', '--limit', '1', '--cursor', cursor as string, '--json'])
      .result;
    expect(JSON.parse(page2.stdout).events[0].id).toBe(first);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await cli(relay, ['events', 'list', '--from', future]).result).stdout).toBe('(none)\n');
    const badTo = await cli(relay, ['events', 'list', '--to', 'tomorrow']).result;
    expect(badTo.code).toBe(EXIT.failed);
    expect(badTo.stderr).toMatch(/to: must be an ISO 8601 date-time/);

    const shown = await cli(relay, ['events', 'get', first]).result;
    expect(shown.stdout).toMatch(/^type:\s+parcel\.scanned$/m);
    expect(shown.stdout).toContain(
      'data:\n  {\n    "parcel": "P-1",\n    "depot": {\n      "city": "Ghent"\n    }\n  }\n',
    );
    expect(shown.stdout).toMatch(
      /deliveries:\nID\s+STATUS\s+EVENT[^\n]*\ndlv_\S+\s+succeeded\s+parcel\.scanned/,
    );
  });

  it('keys list says that keys from configuration are not listed', async () => {
    const empty = await cli(relay, ['keys', 'list'], undefined, relay.adminKey).result;
    expect(empty.code).toBe(EXIT.ok);
    expect(empty.stdout).toBe(
      '(none)\nKeys from configuration are not listed: the admin key, and locally RELAY_API_KEY (tenant default, printed by npm start).\n',
    );
    const json = await cli(relay, ['keys', 'list', '--json'], undefined, relay.adminKey).result;
    expect(JSON.parse(json.stdout)).toEqual({ apiKeys: [] });
  });

  it('deliveries list filters by status and event type, and subscriptions stats sums up the last 24 h', async () => {
    const rx = await receiver((_n, r) => (r.body.includes('"b.fail"') ? 500 : 200));
    const sub = await api.subscribe(rx.url, ['a.*', 'b.*']);
    await api.send('a.ok', {});
    await api.send('a.ok', {});
    await api.send('b.fail', {});
    await waitFor('the failing delivery to be dead', async () => {
      const res = await api.get(`/v1/subscriptions/${sub.id}/deliveries?status=dead`);
      return res.body.deliveries.length === 1;
    });
    const dead = await cli(relay, ['deliveries', 'list', sub.id, '--status', 'dead', '--json']).result;
    expect(JSON.parse(dead.stdout).deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'b.fail',
    ]);
    const typed = await cli(relay, ['deliveries', 'list', sub.id, '--event-type', 'a.ok', '--json']).result;
    expect(JSON.parse(typed.stdout).deliveries).toHaveLength(2);
    const stats = await cli(relay, ['subscriptions', 'stats', sub.id]).result;
    expect(stats.stdout).toBe(
      '3 deliveries in 24 h: 66.7 % succeeded\nsucceeded 2, failed 0, dead 1, pending 0\n',
    );
  });

  it('portal link prints a portal link whose token works, and portal revoke ends it', async () => {
    const made = await cli(relay, ['portal', 'link', '--expires-in', '600']).result;
    expect(made.code, made.stderr).toBe(EXIT.ok);
    const [url = '', note = ''] = made.stdout.split('\n');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/portal#token=ps_/);
    expect(note).toMatch(/^\(session pss_[0-9a-f]{24} of tenant default, until /);
    const token = new URL(url).hash.replace('#token=', '');
    expect((await client(relay, token).get('/v1/subscriptions')).status).toBe(200);
    const id = /session (pss_\w+)/.exec(note)?.[1] ?? '';
    const revoked = await cli(relay, ['portal', 'revoke', id]).result;
    expect(revoked.stdout).toBe(`revoked ${id}\n`);
    const forTenant = await cli(
      relay,
      ['portal', 'link', '--tenant', 'globex', '--json'],
      undefined,
      relay.adminKey,
    ).result;
    expect(JSON.parse(forTenant.stdout)).toMatchObject({
      tenant: 'globex',
      url: expect.stringContaining('/portal#token='),
    });
  });

  it('runs as the package bin (npx relay) with the same output', async () => {
    await api.subscribe('http://127.0.0.1:9/hook', ['a.b']);
    const child = spawn(process.execPath, ['bin/relay.mjs', 'subscriptions', 'list', '--json'], {
      env: { ...process.env, RELAY_URL: relay.url, RELAY_API_KEY: relay.apiKey },
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(stdout).subscriptions[0].url).toBe('http://127.0.0.1:9/hook');
  });
});
