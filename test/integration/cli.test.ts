import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, run } from '../../cli/main.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { type client, settle, startTestRelay } from '../support/relay.ts';

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
    for (const argv of [['send'], ['subscriptions', 'create'], ['dlq', 'redrive'], ['replay'], ['tail']]) {
      const res = await cli(relay, [...argv, '--help']).result;
      expect(res.code).toBe(EXIT.ok);
      expect(res.stdout).toMatch(new RegExp(`^Usage: relay ${argv.join(' ')}`));
    }
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
