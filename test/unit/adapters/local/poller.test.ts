import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueuePoller, type SqsHandler } from '../../../../functions/adapters/local/poller.ts';
import { LocalQueue } from '../../../../functions/adapters/local/queue.ts';
import { logger } from '../../../../functions/commons/logger.ts';

const queues: LocalQueue[] = [];
const pollers: QueuePoller[] = [];

function queue(opts: Partial<ConstructorParameters<typeof LocalQueue>[1]> = {}): LocalQueue {
  const q = new LocalQueue('q', { visibilityTimeoutSeconds: 30, ...opts });
  queues.push(q);
  return q;
}

function poller(q: LocalQueue, handler: SqsHandler, opts: { batchSize?: number; concurrency?: number } = {}) {
  const p = new QueuePoller(q, handler, {
    batchSize: opts.batchSize ?? 10,
    concurrency: opts.concurrency ?? 1,
    functionName: 'relay-test',
  });
  pollers.push(p);
  return p;
}

function gate(): { open: () => void; passed: Promise<void> } {
  let open = () => {};
  const passed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, passed };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  for (const q of queues.splice(0)) q.close();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('QueuePoller', () => {
  it('invokes the handler with batches and deletes the records that did not fail', async () => {
    const q = queue();
    for (const body of ['a', 'b', 'c']) q.send(body);
    const events: SQSEvent[] = [];
    const p = poller(q, async (event): Promise<SQSBatchResponse> => {
      events.push(event);
      const b = event.Records.find((r) => r.body === 'b');
      return { batchItemFailures: b ? [{ itemIdentifier: b.messageId }] : [] };
    });
    p.start();
    await vi.advanceTimersByTimeAsync(0);

    expect(events.map((e) => e.Records.map((r) => r.body))).toEqual([['a', 'b', 'c']]);
    expect(q.depth()).toMatchObject({ inFlight: 1, total: 1 });
    expect(q.snapshot().map((m) => m.body)).toEqual(['b']);
  });

  it('keeps polling through OverLimit refusals until a delete makes room', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => {});
    const q = queue({ maxInFlight: 1 });
    for (const body of ['a', 'b', 'c']) q.send(body);
    const first = gate();
    const handled: string[] = [];
    const p = poller(
      q,
      async (event) => {
        handled.push(...event.Records.map((r) => r.body));
        if (handled.length === 1) await first.passed;
        return undefined;
      },
      { batchSize: 1, concurrency: 2 },
    );
    p.start();
    await vi.advanceTimersByTimeAsync(300);
    expect(handled).toEqual(['a']);
    expect(q.overLimitRefusals).toBeGreaterThan(1);
    expect(p.stats().overLimitWaits).toBe(q.overLimitRefusals);

    first.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(handled).toEqual(['a', 'b', 'c']);
    expect(q.depth().total).toBe(0);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('in-flight limit'),
      expect.objectContaining({ queue: 'q' }),
    );
  });

  it('warns about a queue stuck at its in-flight limit at most once a second', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => {});
    const q = queue({ maxInFlight: 1 });
    q.send('held');
    q.receive(1);
    const p = poller(q, async () => undefined);
    p.start();
    await vi.advanceTimersByTimeAsync(900);
    expect(q.overLimitRefusals).toBeGreaterThan(10);
    expect(warn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('stops while it waits for room under the in-flight limit', async () => {
    vi.spyOn(logger, 'warn').mockImplementation(() => {});
    const q = queue({ maxInFlight: 1 });
    q.send('held');
    q.receive(1);
    const p = poller(q, async () => undefined);
    p.start();
    await vi.advanceTimersByTimeAsync(10);
    let stopped = false;
    const stopping = p.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('counts invocations and the time spent in the handler, as Lambda bills it', async () => {
    const q = queue();
    const p = poller(
      q,
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return undefined;
      },
      { batchSize: 1 },
    );
    expect(p.stats()).toEqual({ invocations: 0, busyMs: 0, overLimitWaits: 0 });
    p.start();
    q.send('a');
    q.send('b');
    await vi.advanceTimersByTimeAsync(1_000);
    const stats = p.stats();
    expect(stats.invocations).toBe(2);
    expect(stats.busyMs).toBeGreaterThan(0);
  });

  it('counts an invocation whose handler throws', async () => {
    vi.spyOn(logger, 'error').mockImplementation(() => {});
    const q = queue();
    q.send('a');
    const p = poller(q, async () => {
      throw new Error('boom');
    });
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.stats().invocations).toBe(1);
    expect(q.depth().inFlight).toBe(1);
  });
});
