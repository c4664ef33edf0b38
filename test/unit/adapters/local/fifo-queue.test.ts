import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalFifoQueue } from '../../../../functions/adapters/local/fifo-queue.ts';
import { QueuePoller } from '../../../../functions/adapters/local/poller.ts';
import { InvalidParameterValue, ReceiptHandleIsInvalid } from '../../../../functions/adapters/local/queue.ts';

const queues: LocalFifoQueue[] = [];
const pollers: QueuePoller[] = [];

function queue(name: string, opts: ConstructorParameters<typeof LocalFifoQueue>[1]): LocalFifoQueue {
  const q = new LocalFifoQueue(name, opts);
  queues.push(q);
  return q;
}

let dedup = 0;
/** Sends with a fresh deduplication id. */
function send(q: LocalFifoQueue, body: string, groupId: string): string {
  const id = q.send(body, groupId, `d${++dedup}`);
  if (!id) throw new Error(`send of ${body} was deduplicated`);
  return id;
}

function receiveOne(q: LocalFifoQueue): SQSRecord {
  const [record] = q.receive(1);
  if (!record) throw new Error(`nothing to receive on ${q.name}`);
  return record;
}

const count = (r: SQSRecord) => r.attributes.ApproximateReceiveCount;
const bodies = (records: SQSRecord[]) => records.map((r) => r.body);

/** Receives one message at a time until nothing is receivable, leaving it all in flight. */
function receiveEach(q: LocalFifoQueue): string[] {
  const out: string[] = [];
  for (let got = q.receive(1); got.length > 0; got = q.receive(1)) out.push(...bodies(got));
  return out;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  for (const q of queues.splice(0)) q.close();
  vi.useRealTimers();
});

describe('LocalFifoQueue', () => {
  it('refuses a name without the .fifo suffix', () => {
    expect(() => new LocalFifoQueue('q', { visibilityTimeoutSeconds: 30 })).toThrow(InvalidParameterValue);
  });

  it('delivers a sent message as an SQS FIFO record', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    const id = q.send('{"a":1}', 'g', 'dedup-1');
    const record = receiveOne(q);
    expect(record).toMatchObject({
      messageId: id,
      body: '{"a":1}',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:q.fifo',
      awsRegion: 'local',
      attributes: {
        ApproximateReceiveCount: '1',
        SenderId: 'local',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'dedup-1',
        SentTimestamp: String(Date.now()),
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
    });
    expect(record.receiptHandle).toEqual(expect.any(String));
    expect(record.md5OfBody).toBe(createHash('md5').update('{"a":1}').digest('hex'));
  });

  it('gives later messages a larger sequence number', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    send(q, 'a', 'g1');
    send(q, 'b', 'g2');
    const [a, b] = q.receive(10).map((r) => BigInt(r.attributes.SequenceNumber as string));
    expect(b).toBeGreaterThan(a as bigint);
  });

  it('delivers the messages of a group in send order', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    for (const body of ['a1', 'a2', 'a3']) send(q, body, 'A');
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = receiveOne(q);
      order.push(r.body);
      q.delete(r.receiptHandle);
    }
    expect(order).toEqual(['a1', 'a2', 'a3']);
    expect(q.depth().total).toBe(0);
  });

  it('blocks a group while its head is in flight and serves the other groups meanwhile', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    send(q, 'a1', 'A');
    send(q, 'a2', 'A');
    send(q, 'b1', 'B');
    send(q, 'b2', 'B');
    const a1 = receiveOne(q);
    expect(a1.body).toBe('a1');
    expect(receiveEach(q)).toEqual(['b1']);
    expect(q.depth()).toEqual({ visible: 2, inFlight: 2, delayed: 0, total: 4 });

    q.delete(a1.receiptHandle);
    expect(receiveEach(q)).toEqual(['a2']);
  });

  it('serves groups oldest head first', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    send(q, 'b1', 'B');
    send(q, 'a1', 'A');
    send(q, 'c1', 'C');
    send(q, 'a2', 'A');
    expect(receiveEach(q)).toEqual(['b1', 'a1', 'c1']);
  });

  it('receives several contiguous messages of one group in order in a batch', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    send(q, 'a1', 'A');
    send(q, 'b1', 'B');
    send(q, 'a2', 'A');
    send(q, 'a3', 'A');
    send(q, 'b2', 'B');
    expect(bodies(q.receive(4))).toEqual(['a1', 'a2', 'a3', 'b1']);
    // B's head is in flight now: b2 waits behind it.
    expect(q.receive(10)).toEqual([]);
  });

  it('keeps a group blocked until every message of a batch from it is done', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    for (const body of ['a1', 'a2', 'a3']) send(q, body, 'A');
    const [a1, a2] = q.receive(2);
    q.delete(a1?.receiptHandle as string);
    expect(q.receive(10)).toEqual([]);
    q.delete(a2?.receiptHandle as string);
    expect(bodies(q.receive(10))).toEqual(['a3']);
  });

  it('brings a message whose visibility expires back at the head of its group, before later ones', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 0.05 });
    send(q, 'a1', 'A');
    send(q, 'a2', 'A');
    const first = receiveOne(q);
    vi.advanceTimersByTime(49);
    expect(q.receive(10)).toEqual([]);
    vi.advanceTimersByTime(1);
    const again = q.receive(10);
    expect(bodies(again)).toEqual(['a1', 'a2']);
    expect(again[0]?.messageId).toBe(first.messageId);
    expect(count(again[0] as SQSRecord)).toBe('2');
    expect(again[0]?.attributes.ApproximateFirstReceiveTimestamp).toBe(
      first.attributes.ApproximateFirstReceiveTimestamp,
    );
  });

  it('brings a message whose visibility is changed to 0 back at the head of its group at once', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    send(q, 'a1', 'A');
    send(q, 'a2', 'A');
    q.changeVisibility(receiveOne(q).receiptHandle, 0);
    const again = receiveOne(q);
    expect(again.body).toBe('a1');
    expect(count(again)).toBe('2');
  });

  it('holds the whole group for the seconds a visibility change gives its head', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 1 });
    send(q, 'a1', 'A');
    send(q, 'a2', 'A');
    send(q, 'b1', 'B');
    q.changeVisibility(receiveOne(q).receiptHandle, 10);
    const b1 = receiveOne(q);
    expect(b1.body).toBe('b1');
    q.delete(b1.receiptHandle);
    vi.advanceTimersByTime(9_999);
    expect(q.receive(10)).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(bodies(q.receive(10))).toEqual(['a1', 'a2']);
  });

  it('refuses a stale or unknown receipt handle', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 0.05 });
    send(q, 'a1', 'A');
    const stale = receiveOne(q).receiptHandle;
    vi.advanceTimersByTime(50);
    const fresh = receiveOne(q).receiptHandle;
    expect(() => q.delete(stale)).toThrow(ReceiptHandleIsInvalid);
    expect(() => q.changeVisibility(stale, 0)).toThrow(ReceiptHandleIsInvalid);
    expect(() => q.delete('nonsense')).toThrow(ReceiptHandleIsInvalid);
    q.delete(fresh);
    expect(() => q.delete(fresh)).toThrow(ReceiptHandleIsInvalid);
  });

  it('refuses a visibility change outside 0 to 12 hours and keeps the message as it was', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    send(q, 'a1', 'A');
    const handle = receiveOne(q).receiptHandle;
    expect(() => q.changeVisibility(handle, 43_201)).toThrow(InvalidParameterValue);
    expect(() => q.changeVisibility(handle, -1)).toThrow(InvalidParameterValue);
    expect(q.depth().inFlight).toBe(1);
    expect(() => q.changeVisibility(handle, 43_200)).not.toThrow();
  });

  describe('deduplication', () => {
    it('accepts a send with a deduplication id seen in the last 5 minutes but delivers it once', () => {
      const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
      expect(q.send('first', 'A', 'same')).toEqual(expect.any(String));
      vi.advanceTimersByTime(4 * 60_000);
      expect(q.send('second', 'B', 'same')).toBeUndefined();
      expect(bodies(q.receive(10))).toEqual(['first']);
      expect(q.depth().total).toBe(1);
    });

    it('keeps deduplicating after the first message was deleted', () => {
      const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
      q.send('first', 'A', 'same');
      q.delete(receiveOne(q).receiptHandle);
      expect(q.send('again', 'A', 'same')).toBeUndefined();
      expect(q.receive(10)).toEqual([]);
    });

    it('delivers a deduplication id again once its window has passed', () => {
      const q = queue('q.fifo', { visibilityTimeoutSeconds: 30, deduplicationWindowMs: 1_000 });
      q.send('first', 'A', 'same');
      vi.advanceTimersByTime(999);
      expect(q.send('dropped', 'A', 'same')).toBeUndefined();
      vi.advanceTimersByTime(1);
      expect(q.send('later', 'A', 'same')).toEqual(expect.any(String));
      expect(q.snapshot().map((m) => m.body)).toEqual(['first', 'later']);
    });
  });

  describe('waiting for messages', () => {
    it('wakes a waiter when a message is sent', async () => {
      const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
      let woken = false;
      const waiting = q.waitForMessages().then(() => {
        woken = true;
      });
      await Promise.resolve();
      expect(woken).toBe(false);
      send(q, 'a1', 'A');
      await waiting;
      expect(woken).toBe(true);
    });

    it('keeps waiting while the only visible messages are in a blocked group', async () => {
      const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
      send(q, 'a1', 'A');
      send(q, 'a2', 'A');
      const handle = receiveOne(q).receiptHandle;
      let woken = false;
      const waiting = q.waitForMessages().then(() => {
        woken = true;
      });
      await Promise.resolve();
      expect(woken).toBe(false);
      q.delete(handle);
      await waiting;
      expect(woken).toBe(true);
    });

    it('wakes a waiter when a visibility expiry unblocks a group', async () => {
      const q = queue('q.fifo', { visibilityTimeoutSeconds: 5 });
      send(q, 'a1', 'A');
      receiveOne(q);
      let woken = false;
      const waiting = q.waitForMessages().then(() => {
        woken = true;
      });
      await vi.advanceTimersByTimeAsync(4_999);
      expect(woken).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await waiting;
      expect(woken).toBe(true);
    });

    it('never makes a receiver wait for room', async () => {
      const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
      await expect(q.waitForRoom(60_000)).resolves.toBeUndefined();
    });
  });

  describe('with a redrive policy', () => {
    function pair() {
      const dlq = queue('dlq.fifo', { visibilityTimeoutSeconds: 30 });
      const main = queue('main.fifo', {
        visibilityTimeoutSeconds: 0.05,
        maxReceiveCount: 2,
        deadLetterQueue: dlq,
      });
      return { main, dlq };
    }

    it('moves the head of a group to the DLQ on the receive after maxReceiveCount and unblocks the group', () => {
      const { main, dlq } = pair();
      const id = send(main, 'poison', 'A');
      send(main, 'next', 'A');
      expect(count(receiveOne(main))).toBe('1');
      vi.advanceTimersByTime(50);
      expect(count(receiveOne(main))).toBe('2');
      vi.advanceTimersByTime(50);

      const after = main.receive(10);
      expect(bodies(after)).toEqual(['next']);
      expect(count(after[0] as SQSRecord)).toBe('1');
      expect(dlq.snapshot()).toEqual([
        { body: 'poison', groupId: 'A', deduplicationId: id, receiveCount: 0, source: 'main.fifo' },
      ]);
    });

    it('puts DLQ messages back on their source queue in the order they sit in the DLQ', () => {
      const { main, dlq } = pair();
      for (const body of ['a1', 'b1', 'a2']) send(main, body, body.startsWith('a') ? 'A' : 'B');
      // Two receives each (one batch takes both groups); the third receive redrives them all.
      for (let round = 0; round < 2; round++) {
        main.receive(10);
        vi.advanceTimersByTime(50);
      }
      expect(main.receive(10)).toEqual([]);
      expect(dlq.snapshot().map((m) => m.body)).toEqual(['a1', 'a2', 'b1']);

      expect(dlq.startMoveTask()).toEqual({ status: 'COMPLETED', moved: 3, total: 3 });
      expect(dlq.moveTaskStatus()).toEqual({ status: 'COMPLETED', moved: 3, total: 3 });
      expect(dlq.depth().total).toBe(0);
      const back = main.receive(10);
      expect(back.map((r) => [r.body, r.attributes.MessageGroupId, count(r)])).toEqual([
        ['a1', 'A', '1'],
        ['a2', 'A', '1'],
        ['b1', 'B', '1'],
      ]);
      // Fresh deduplication ids: a redrive is never dropped as a duplicate of the original.
      expect(new Set(back.map((r) => r.attributes.MessageDeduplicationId)).size).toBe(3);
    });

    it('sends DLQ messages without a source to the fallback queue', () => {
      const dlq = queue('dlq.fifo', { visibilityTimeoutSeconds: 30 });
      const main = queue('main.fifo', { visibilityTimeoutSeconds: 30 });
      send(dlq, 'orphan', 'G');
      expect(dlq.startMoveTask(main)).toEqual({ status: 'COMPLETED', moved: 1, total: 1 });
      expect(receiveOne(main).attributes.MessageGroupId).toBe('G');
    });

    it('moves large DLQs in steps and reports progress until completed', () => {
      const dlq = queue('dlq.fifo', { visibilityTimeoutSeconds: 30 });
      const main = queue('main.fifo', { visibilityTimeoutSeconds: 30 });
      for (let i = 0; i < 250; i++) dlq.send(`m${i}`, 'G', `d${i}`, main);
      expect(dlq.startMoveTask()).toEqual({ status: 'RUNNING', moved: 100, total: 250 });
      expect(dlq.startMoveTask()).toEqual({ status: 'RUNNING', moved: 100, total: 250 });
      vi.runAllTimers();
      expect(dlq.moveTaskStatus()).toEqual({ status: 'COMPLETED', moved: 250, total: 250 });
      expect(main.snapshot().map((m) => m.body)).toEqual(Array.from({ length: 250 }, (_, i) => `m${i}`));
    });
  });

  it('snapshots every message in send order, and a restore puts in-flight ones back in their place', () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    q.send('a1', 'A', 'da1');
    q.send('b1', 'B', 'db1');
    q.send('a2', 'A', 'da2');
    q.receive(1);
    expect(q.snapshot()).toEqual([
      { body: 'a1', groupId: 'A', deduplicationId: 'da1', receiveCount: 1 },
      { body: 'b1', groupId: 'B', deduplicationId: 'db1', receiveCount: 0 },
      { body: 'a2', groupId: 'A', deduplicationId: 'da2', receiveCount: 0 },
    ]);

    const restored = queue('restored.fifo', { visibilityTimeoutSeconds: 30 });
    for (const m of q.snapshot()) restored.send(m.body, m.groupId, m.deduplicationId);
    expect(restored.depth()).toEqual({ visible: 3, inFlight: 0, delayed: 0, total: 3 });
    expect(bodies(restored.receive(10))).toEqual(['a1', 'a2', 'b1']);
  });

  it('over a QueuePoller, keeps a group blocked behind a record reported in batchItemFailures', async () => {
    const q = queue('q.fifo', { visibilityTimeoutSeconds: 30 });
    for (const body of ['a1', 'a2', 'b1', 'b2']) send(q, body, body[0] as string);
    const handled: string[] = [];
    let failedOnce = false;
    const p = new QueuePoller(
      q,
      async (event): Promise<SQSBatchResponse> => {
        const failures: SQSBatchResponse['batchItemFailures'] = [];
        for (const r of event.Records) {
          handled.push(r.body);
          if (r.body === 'a1' && !failedOnce) {
            failedOnce = true;
            failures.push({ itemIdentifier: r.messageId });
          }
        }
        return { batchItemFailures: failures };
      },
      { batchSize: 1, concurrency: 1, functionName: 'relay-test' },
    );
    pollers.push(p);
    p.start();

    await vi.advanceTimersByTimeAsync(0);
    expect(handled).toEqual(['a1', 'b1', 'b2']);
    expect(q.depth()).toEqual({ visible: 1, inFlight: 1, delayed: 0, total: 2 });

    await vi.advanceTimersByTimeAsync(29_999);
    expect(handled).toEqual(['a1', 'b1', 'b2']);
    await vi.advanceTimersByTimeAsync(1);
    expect(handled).toEqual(['a1', 'b1', 'b2', 'a1', 'a2']);
    expect(q.depth().total).toBe(0);
  });
});
