import { createHash } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalQueue, ReceiptHandleIsInvalid } from '../../../../functions/adapters/local/queue.ts';

const queues: LocalQueue[] = [];
function queue(name: string, opts: ConstructorParameters<typeof LocalQueue>[1]): LocalQueue {
  const q = new LocalQueue(name, opts);
  queues.push(q);
  return q;
}

function receiveOne(q: LocalQueue): SQSRecord {
  const [record] = q.receive(10);
  if (!record) throw new Error(`nothing to receive on ${q.name}`);
  return record;
}

const count = (r: SQSRecord) => r.attributes.ApproximateReceiveCount;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const q of queues.splice(0)) q.close();
  vi.useRealTimers();
});

describe('LocalQueue', () => {
  it('delivers a sent message as an SQS record', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    const id = q.send('{"a":1}');
    const record = receiveOne(q);
    expect(record).toMatchObject({
      messageId: id,
      body: '{"a":1}',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:q',
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(record.receiptHandle).toEqual(expect.any(String));
    expect(record.md5OfBody).toBe(createHash('md5').update('{"a":1}').digest('hex'));
  });

  it('hides a received message for the visibility timeout', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    q.send('m');
    receiveOne(q);
    expect(q.receive(10)).toEqual([]);
    expect(q.depth()).toEqual({ visible: 0, inFlight: 1, delayed: 0, total: 1 });
    vi.advanceTimersByTime(29_999);
    expect(q.receive(10)).toEqual([]);
  });

  it('brings a message back after the visibility timeout with ApproximateReceiveCount 2', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 0.05 });
    q.send('m');
    const first = receiveOne(q);
    vi.advanceTimersByTime(50);
    const second = receiveOne(q);
    expect(second.messageId).toBe(first.messageId);
    expect(count(first)).toBe('1');
    expect(count(second)).toBe('2');
    expect(second.receiptHandle).not.toBe(first.receiptHandle);
  });

  it('receives at most the requested number of messages, oldest first', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    for (const body of ['a', 'b', 'c']) q.send(body);
    expect(q.receive(2).map((r) => r.body)).toEqual(['a', 'b']);
    expect(q.receive(2).map((r) => r.body)).toEqual(['c']);
    expect(q.receive(2)).toEqual([]);
  });

  it('removes a deleted message for good', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 0.05 });
    q.send('m');
    q.delete(receiveOne(q).receiptHandle);
    vi.advanceTimersByTime(1000);
    expect(q.receive(10)).toEqual([]);
    expect(q.depth().total).toBe(0);
  });

  it('makes a message visible at once when its visibility is changed to 0', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    q.send('m');
    q.changeVisibility(receiveOne(q).receiptHandle, 0);
    const again = receiveOne(q);
    expect(count(again)).toBe('2');
  });

  it('keeps a message hidden for the new visibility when it is extended', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 1 });
    q.send('m');
    q.changeVisibility(receiveOne(q).receiptHandle, 10);
    vi.advanceTimersByTime(9_999);
    expect(q.receive(10)).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(count(receiveOne(q))).toBe('2');
  });

  it('refuses a stale receipt handle once the message was received again', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 0.05 });
    q.send('m');
    const stale = receiveOne(q).receiptHandle;
    vi.advanceTimersByTime(50);
    const fresh = receiveOne(q).receiptHandle;
    expect(() => q.delete(stale)).toThrow(ReceiptHandleIsInvalid);
    expect(() => q.changeVisibility(stale, 0)).toThrow(ReceiptHandleIsInvalid);
    expect(() => q.delete(fresh)).not.toThrow();
  });

  it('refuses the receipt handle of a deleted message', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    q.send('m');
    const handle = receiveOne(q).receiptHandle;
    q.delete(handle);
    expect(() => q.delete(handle)).toThrow(ReceiptHandleIsInvalid);
    expect(() => q.delete('nonsense')).toThrow(ReceiptHandleIsInvalid);
  });

  it('holds back a message sent with a delay until the delay passes', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    q.send('later', 5);
    expect(q.receive(10)).toEqual([]);
    expect(q.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 1, total: 1 });
    vi.advanceTimersByTime(4_999);
    expect(q.receive(10)).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(count(receiveOne(q))).toBe('1');
  });

  it('wakes a waiter when a message becomes visible', async () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    let woken = false;
    const waiting = q.waitForMessages().then(() => {
      woken = true;
    });
    await Promise.resolve();
    expect(woken).toBe(false);
    q.send('m');
    await waiting;
    expect(woken).toBe(true);
  });

  describe('with a redrive policy', () => {
    function pair() {
      const dlq = queue('dlq', { visibilityTimeoutSeconds: 30 });
      const main = queue('main', {
        visibilityTimeoutSeconds: 0.05,
        maxReceiveCount: 2,
        deadLetterQueue: dlq,
      });
      return { main, dlq };
    }

    it('moves a message to the DLQ on the receive after maxReceiveCount', () => {
      const { main, dlq } = pair();
      main.send('task');
      expect(count(receiveOne(main))).toBe('1');
      vi.advanceTimersByTime(50);
      expect(count(receiveOne(main))).toBe('2');
      vi.advanceTimersByTime(50);
      expect(main.receive(10)).toEqual([]);
      expect(main.depth().total).toBe(0);
      expect(dlq.snapshot()).toEqual([{ body: 'task', receiveCount: 0, source: 'main' }]);
    });

    it('moves DLQ messages back to their source queue with a fresh receive count', () => {
      const { main, dlq } = pair();
      main.send('task');
      receiveOne(main);
      vi.advanceTimersByTime(50);
      receiveOne(main);
      vi.advanceTimersByTime(50);
      main.receive(10);

      expect(dlq.startMoveTask()).toEqual({ status: 'COMPLETED', moved: 1, total: 1 });
      expect(dlq.moveTaskStatus()).toEqual({ status: 'COMPLETED', moved: 1, total: 1 });
      expect(dlq.depth().total).toBe(0);
      const back = receiveOne(main);
      expect(back.body).toBe('task');
      expect(count(back)).toBe('1');
    });

    it('sends messages without a source to the fallback queue', () => {
      const dlq = queue('dlq', { visibilityTimeoutSeconds: 30 });
      const main = queue('main', { visibilityTimeoutSeconds: 30 });
      dlq.send('orphan');
      expect(dlq.startMoveTask(main)).toMatchObject({ status: 'COMPLETED', moved: 1, total: 1 });
      expect(receiveOne(main).body).toBe('orphan');
    });

    it('leaves in-flight DLQ messages where they are', () => {
      const dlq = queue('dlq', { visibilityTimeoutSeconds: 30 });
      const main = queue('main', { visibilityTimeoutSeconds: 30 });
      dlq.send('a', 0, main);
      receiveOne(dlq);
      expect(dlq.startMoveTask()).toEqual({ status: 'COMPLETED', moved: 0, total: 1 });
      expect(main.depth().total).toBe(0);
    });

    it('moves large DLQs in steps and reports progress until completed', () => {
      const dlq = queue('dlq', { visibilityTimeoutSeconds: 30 });
      const main = queue('main', { visibilityTimeoutSeconds: 30 });
      for (let i = 0; i < 250; i++) dlq.send(`m${i}`, 0, main);
      expect(dlq.startMoveTask()).toEqual({ status: 'RUNNING', moved: 100, total: 250 });
      // A second start while one runs returns the running task.
      expect(dlq.startMoveTask()).toEqual({ status: 'RUNNING', moved: 100, total: 250 });
      vi.runAllTimers();
      expect(dlq.moveTaskStatus()).toEqual({ status: 'COMPLETED', moved: 250, total: 250 });
      expect(main.depth().visible).toBe(250);
    });
  });
});
