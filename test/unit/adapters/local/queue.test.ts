import { createHash } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidParameterValue,
  LocalQueue,
  OverLimit,
  ReceiptHandleIsInvalid,
} from '../../../../functions/adapters/local/queue.ts';

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
const bodies = (records: SQSRecord[]) => records.map((r) => r.body);

/** Receives everything visible, `batch` at a time, leaving it all in flight. */
function receiveAll(q: LocalQueue, batch = 10): SQSRecord[] {
  const out: SQSRecord[] = [];
  for (let got = q.receive(batch); got.length > 0; got = q.receive(batch)) out.push(...got);
  return out;
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

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

  it('puts a message made visible again behind the messages already waiting', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    q.send('a');
    q.send('b');
    const [a] = q.receive(1);
    q.changeVisibility(a?.receiptHandle as string, 0);
    expect(bodies(q.receive(10))).toEqual(['b', 'a']);
  });

  it('reports the message group in the record attributes', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    q.send('grouped', 0, undefined, 't1#s1');
    q.send('plain');
    const [grouped, plain] = q.receive(10);
    expect(grouped?.attributes.MessageGroupId).toBe('t1#s1');
    expect(plain?.attributes).not.toHaveProperty('MessageGroupId');
  });

  it('snapshots every message in arrival order with its group, so a restore can send it back', () => {
    const q = queue('q', { visibilityTimeoutSeconds: 30 });
    q.send('a', 0, undefined, 'g1');
    q.send('b');
    q.send('c', 60, undefined, 'g2');
    q.receive(1);
    expect(q.snapshot()).toEqual([
      { body: 'a', receiveCount: 1, groupId: 'g1' },
      { body: 'b', receiveCount: 0 },
      { body: 'c', receiveCount: 0, groupId: 'g2' },
    ]);

    const restored = queue('restored', { visibilityTimeoutSeconds: 30 });
    for (const m of q.snapshot()) restored.send(m.body, 0, undefined, m.groupId);
    expect(restored.receive(10).map((r) => [r.body, r.attributes.MessageGroupId])).toEqual([
      ['a', 'g1'],
      ['b', undefined],
      ['c', 'g2'],
    ]);
  });

  describe('delay and visibility bounds, as SQS has them', () => {
    it('refuses a delay over 900 seconds, naming the value', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30 });
      const err = thrown(() => q.send('m', 901));
      expect(err).toBeInstanceOf(InvalidParameterValue);
      expect(err.name).toBe('InvalidParameterValue');
      expect(err.message).toContain('901');
      expect(q.depth().total).toBe(0);
    });

    it('refuses a negative delay', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30 });
      expect(() => q.send('m', -1)).toThrow(InvalidParameterValue);
      expect(() => q.send('m', Number.NaN)).toThrow(InvalidParameterValue);
    });

    it('accepts a delay of exactly 900 seconds', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30 });
      q.send('m', 900);
      expect(q.depth().delayed).toBe(1);
    });

    it('refuses a visibility change past 12 hours and keeps the message as it was', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30 });
      q.send('m');
      const handle = receiveOne(q).receiptHandle;
      const err = thrown(() => q.changeVisibility(handle, 43_201));
      expect(err).toBeInstanceOf(InvalidParameterValue);
      expect(err.message).toContain('43201');
      expect(() => q.changeVisibility(handle, -1)).toThrow(InvalidParameterValue);
      expect(() => q.changeVisibility(handle, 43_200)).not.toThrow();
      expect(q.depth().inFlight).toBe(1);
    });
  });

  describe('in-flight limit', () => {
    it('receives no more than the limit leaves room for', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 3 });
      for (const body of ['a', 'b', 'c', 'd', 'e']) q.send(body);
      expect(bodies(q.receive(10))).toEqual(['a', 'b', 'c']);
      expect(q.depth()).toMatchObject({ visible: 2, inFlight: 3 });
    });

    it('refuses a receive with OverLimit while the limit is reached', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 3 });
      for (const body of ['a', 'b', 'c', 'd']) q.send(body);
      q.receive(10);
      const err = thrown(() => q.receive(10));
      expect(err).toBeInstanceOf(OverLimit);
      expect(err.name).toBe('OverLimit');
      expect(err.message).toBe('the in-flight message limit (3) of queue q is reached');
      expect(q.overLimitRefusals).toBe(1);
    });

    it('refuses a receive at the limit even when nothing is visible', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 1 });
      q.send('a');
      q.receive(10);
      expect(() => q.receive(10)).toThrow(OverLimit);
    });

    it('receives again once a message in flight is deleted', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 2 });
      for (const body of ['a', 'b', 'c']) q.send(body);
      const [first] = q.receive(10);
      expect(() => q.receive(10)).toThrow(OverLimit);
      q.delete(first?.receiptHandle as string);
      expect(bodies(q.receive(10))).toEqual(['c']);
    });

    it('counts a message as in flight until its visibility expires, even after a visibility change', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 1 });
      q.send('a');
      q.send('b');
      q.changeVisibility(receiveOne(q).receiptHandle, 5);
      expect(() => q.receive(10)).toThrow(OverLimit);
      vi.advanceTimersByTime(5_000);
      expect(bodies(q.receive(10))).toEqual(['b']);
    });

    it('wakes a receiver waiting for room when a message leaves flight', async () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 1 });
      q.send('a');
      q.send('b');
      const handle = receiveOne(q).receiptHandle;
      let woken = false;
      const waiting = q.waitForRoom(60_000).then(() => {
        woken = true;
      });
      await Promise.resolve();
      expect(woken).toBe(false);
      q.delete(handle);
      await waiting;
      expect(woken).toBe(true);
    });

    it('gives up waiting for room after the given time', async () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 1 });
      q.send('a');
      receiveOne(q);
      let woken = false;
      const waiting = q.waitForRoom(50).then(() => {
        woken = true;
      });
      await vi.advanceTimersByTimeAsync(49);
      expect(woken).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await waiting;
      expect(woken).toBe(true);
    });

    it('reports the peak in-flight count and the refusals until the stats are reset', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 30, maxInFlight: 3 });
      for (const body of ['a', 'b', 'c']) q.send(body);
      const [a, b] = q.receive(10);
      expect(() => q.receive(10)).toThrow(OverLimit);
      q.delete(a?.receiptHandle as string);
      q.delete(b?.receiptHandle as string);
      expect(q.peakInFlight).toBe(3);
      expect(q.overLimitRefusals).toBe(1);

      q.resetStats();
      expect(q.peakInFlight).toBe(1);
      expect(q.overLimitRefusals).toBe(0);
    });
  });

  describe('message groups (fair queues)', () => {
    it('serves a quiet group before the rest of a flooded group whose messages stay in flight', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      for (let i = 0; i < 500; i++) q.send(`A${i}`, 0, undefined, 'A');
      for (let i = 0; i < 20; i++) q.send(`B${i}`, 0, undefined, 'B');

      // The consumer keeps A's messages in flight (a slow endpoint) and finishes B's at once.
      const order: string[] = [];
      for (let batch = 0; batch < 6; batch++) {
        for (const r of q.receive(10)) {
          order.push(r.body);
          if (r.body.startsWith('B')) q.delete(r.receiptHandle);
        }
      }
      expect(order.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => `A${i}`));
      expect(order.slice(30, 50)).toEqual(Array.from({ length: 20 }, (_, i) => `B${i}`));
      expect(order.slice(50)).toEqual(Array.from({ length: 10 }, (_, i) => `A${30 + i}`));
    });

    it('holds back a flooded group of messages sent without a group id as one group', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      for (let i = 0; i < 100; i++) q.send(`plain${i}`);
      q.send('B0', 0, undefined, 'B');
      const received = bodies(receiveAll(q).slice(0, 31));
      expect(received.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => `plain${i}`));
      expect(received[30]).toBe('B0');
    });

    it('keeps arrival order across groups when no group is noisy', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      const sent: string[] = [];
      for (let i = 0; i < 20; i++) {
        for (const g of ['A', 'B', 'C']) {
          q.send(`${g}${i}`, 0, undefined, g);
          sent.push(`${g}${i}`);
        }
      }
      expect(bodies(receiveAll(q))).toEqual(sent);
    });

    it('does not hold back a group holding no more than an equal share of the messages in flight', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      for (let i = 0; i < 70; i++) q.send(`Y${i}`, 0, undefined, 'Y');
      expect(receiveAll(q)).toHaveLength(70);
      for (let i = 0; i < 35; i++) q.send(`X${i}`, 0, undefined, 'X');
      expect(receiveAll(q)).toHaveLength(35);

      // X holds 35 of 105 in flight: over 10 % and 30, but only an equal third with Y and Q.
      q.send('X35', 0, undefined, 'X');
      q.send('Q0', 0, undefined, 'Q');
      expect(bodies(q.receive(2))).toEqual(['X35', 'Q0']);
    });

    it('does not hold back a group with fewer than 30 of its own messages in flight', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      for (let i = 0; i < 29; i++) q.send(`A${i}`, 0, undefined, 'A');
      q.send('B0', 0, undefined, 'B');
      expect(receiveAll(q)).toHaveLength(30);

      q.send('A29', 0, undefined, 'A');
      q.send('B1', 0, undefined, 'B');
      expect(bodies(q.receive(1))).toEqual(['A29']);
    });

    it('serves a group whose messages take long to process after the other groups', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      q.send('slow0', 0, undefined, 'slow');
      const slow = receiveOne(q);
      vi.advanceTimersByTime(5_000);
      q.delete(slow.receiptHandle);

      for (const body of ['slow1', 'slow2']) q.send(body, 0, undefined, 'slow');
      for (const body of ['fast1', 'fast2']) q.send(body, 0, undefined, 'fast');
      expect(bodies(q.receive(10))).toEqual(['fast1', 'fast2', 'slow1', 'slow2']);
    });

    it('counts processing time up to a visibility change or expiry, not only up to a delete', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 5 });
      q.send('slow0', 0, undefined, 'slow');
      q.send('slow1', 0, undefined, 'slow');
      const [first] = q.receive(1);
      vi.advanceTimersByTime(3_000);
      q.changeVisibility(first?.receiptHandle as string, 600);
      q.receive(1);
      vi.advanceTimersByTime(5_000);

      q.send('fast', 0, undefined, 'fast');
      expect(bodies(q.receive(10))).toEqual(['fast', 'slow1']);
    });

    it('serves a slow group in arrival order again once its processing time is no longer recent', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      q.send('slow0', 0, undefined, 'slow');
      const slow = receiveOne(q);
      vi.advanceTimersByTime(5_000);
      q.delete(slow.receiptHandle);
      vi.advanceTimersByTime(60_000);

      q.send('slow1', 0, undefined, 'slow');
      q.send('fast1', 0, undefined, 'fast');
      expect(bodies(q.receive(10))).toEqual(['slow1', 'fast1']);
    });

    it('never holds back a group that is alone on the queue', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      q.send('slow0', 0, undefined, 'slow');
      const slow = receiveOne(q);
      vi.advanceTimersByTime(5_000);
      q.delete(slow.receiptHandle);
      for (let i = 0; i < 50; i++) q.send(`slow${i + 1}`, 0, undefined, 'slow');
      expect(receiveAll(q)).toHaveLength(50);
    });

    it('when every waiting group is noisy, serves the one with the fewest messages in flight first', () => {
      const q = queue('q', { visibilityTimeoutSeconds: 300 });
      q.send('B0', 0, undefined, 'B');
      const b0 = receiveOne(q);
      vi.advanceTimersByTime(5_000);
      q.delete(b0.receiptHandle);

      for (let i = 0; i < 40; i++) q.send(`A${i}`, 0, undefined, 'A');
      expect(q.receive(35)).toHaveLength(35);
      q.send('B1', 0, undefined, 'B');
      // A is noisy by its in-flight share, B by its processing time; B has none in flight.
      expect(bodies(q.receive(2))).toEqual(['B1', 'A35']);
    });

    it('keeps a message group through the DLQ and back', () => {
      const dlq = queue('dlq', { visibilityTimeoutSeconds: 30 });
      const main = queue('main', {
        visibilityTimeoutSeconds: 0.05,
        maxReceiveCount: 1,
        deadLetterQueue: dlq,
      });
      main.send('task', 0, undefined, 't#s');
      receiveOne(main);
      vi.advanceTimersByTime(50);
      expect(main.receive(10)).toEqual([]);
      expect(dlq.snapshot()).toEqual([{ body: 'task', receiveCount: 0, source: 'main', groupId: 't#s' }]);

      dlq.startMoveTask();
      expect(receiveOne(main).attributes.MessageGroupId).toBe('t#s');
    });
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
