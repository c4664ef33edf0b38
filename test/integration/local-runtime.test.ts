import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { settle, startTestRelay } from '../support/relay.ts';

describe('local runtime', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('keeps subscriptions, the delivery log and the DLQ across a restart when given a data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'relay-data-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const rx = await startReceiver(() => 500);
    cleanups.push(() => rx.close());

    const first = await startTestRelay([0.05], { dataDir });
    const sub = await first.api.subscribe(rx.url, ['*']);
    const eventId = await first.api.send('order.created', { n: 1 });
    await waitFor('dead letter', async () => (await first.api.get('/v1/dlq')).body.count === 1);
    await settle(first.relay);
    await first.relay.close();

    const second = await startTestRelay([0.05], { dataDir });
    cleanups.push(() => second.relay.close());
    expect((await second.api.get(`/v1/subscriptions/${sub.id}`)).status).toBe(200);
    expect((await second.api.get(`/v1/events/${eventId}`)).body.deliveries[0].status).toBe('dead');
    expect(second.relay.queues.deliveryDlq.depth().total).toBe(1);

    rx.setBehaviour(() => 200);
    await second.api.admin.post('/v1/dlq/redrive');
    await waitFor('redriven delivery', () => rx.received.length === 3);
    expect(rx.received[2]?.headers['webhook-id']).toBe(eventId);
  });

  it("starts with `npm start`'s entry point, prints its URL and key, serves, and stops cleanly on SIGTERM", async () => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'functions/local/main.ts'], {
      env: { ...process.env, PORT: '0', RELAY_API_KEY: '', POWERTOOLS_LOG_LEVEL: 'WARN' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const url = (await waitFor(
      'the banner',
      () => /listening on (http:\/\/\S+)/.exec(out)?.[1],
      20_000,
    )) as string;
    const key = /API key of tenant default \(generated; set RELAY_API_KEY to choose one\): (\S+)/.exec(
      out,
    )?.[1];
    expect(key).toMatch(/^rk_/);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const res = await fetch(`${url}/v1/subscriptions`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses to start with a clear message when a setting is invalid', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'functions/local/main.ts'], {
      env: { ...process.env, PORT: '0', RELAY_RETRY_SCHEDULE: '5,soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(err).toContain('RELAY_RETRY_SCHEDULE: retry schedule entry 2 ("soon")');
  });
});
