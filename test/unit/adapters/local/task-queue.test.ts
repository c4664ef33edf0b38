import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidParameterValue, LocalQueue } from '../../../../functions/adapters/local/queue.ts';
import { LocalTaskQueue } from '../../../../functions/adapters/local/task-queue.ts';
import type { DeliveryTask } from '../../../../functions/core/delivery/model.ts';

const queues: LocalQueue[] = [];

function setup() {
  const dlq = new LocalQueue('relay-delivery-dlq', { visibilityTimeoutSeconds: 30 });
  const queue = new LocalQueue('relay-delivery', {
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 1,
    deadLetterQueue: dlq,
  });
  queues.push(queue, dlq);
  return { queue, dlq, tasks: new LocalTaskQueue(queue, dlq) };
}

const task = (over: Partial<DeliveryTask> = {}): DeliveryTask => ({
  deliveryId: 'd1',
  tenant: 'acme',
  eventId: 'e1',
  subscriptionId: 's1',
  ...over,
});

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const q of queues.splice(0)) q.close();
  vi.useRealTimers();
});

describe('LocalTaskQueue', () => {
  it("enqueues each task in its endpoint's message group", async () => {
    const { queue, tasks } = setup();
    await tasks.enqueue([task(), task({ deliveryId: 'd2', tenant: 'other', subscriptionId: 's9' })]);
    expect(queue.snapshot()).toEqual([
      { body: JSON.stringify(task()), receiveCount: 0, groupId: 'acme#s1' },
      {
        body: JSON.stringify(task({ deliveryId: 'd2', tenant: 'other', subscriptionId: 's9' })),
        receiveCount: 0,
        groupId: 'other#s9',
      },
    ]);
  });

  it("sends a delayed copy in the task's group, keeping fractions of a second (local schedules in ms)", async () => {
    const { queue, tasks } = setup();
    const copy = task({ due: 1_700_000_000_000, attempt: 2 });
    await tasks.sendDelayed(copy, 4.2);
    expect(queue.depth()).toMatchObject({ delayed: 1, visible: 0 });
    vi.advanceTimersByTime(4_199);
    expect(queue.receive(10)).toEqual([]);
    vi.advanceTimersByTime(1);
    const [record] = queue.receive(10);
    expect(JSON.parse(record?.body ?? '')).toEqual(copy);
    expect(record?.attributes.MessageGroupId).toBe('acme#s1');
  });

  it('refuses a delay over 15 minutes instead of shortening it', async () => {
    const { queue, tasks } = setup();
    await expect(tasks.sendDelayed(task(), 900.5)).rejects.toThrow(InvalidParameterValue);
    expect(queue.depth().total).toBe(0);
    await tasks.sendDelayed(task(), 900);
    expect(queue.depth().delayed).toBe(1);
  });

  it('releases a received task to the DLQ by making it visible now, for the redrive policy', async () => {
    const { queue, dlq, tasks } = setup();
    await tasks.enqueue([task()]);
    const [record] = queue.receive(10);
    await tasks.releaseToDeadLetter(record?.receiptHandle ?? '');
    expect(queue.depth().visible).toBe(1);
    expect(queue.receive(10)).toEqual([]);
    expect(dlq.snapshot()).toEqual([
      { body: JSON.stringify(task()), receiveCount: 0, source: 'relay-delivery', groupId: 'acme#s1' },
    ]);
  });

  it('redrives dead-lettered tasks back to the delivery queue in their groups', async () => {
    const { queue, tasks } = setup();
    await tasks.enqueue([task()]);
    const [record] = queue.receive(10);
    await tasks.releaseToDeadLetter(record?.receiptHandle ?? '');
    queue.receive(10);

    expect(await tasks.redriveStatus()).toBeUndefined();
    expect(await tasks.startRedrive()).toEqual({ status: 'COMPLETED', moved: 1, total: 1 });
    expect(await tasks.redriveStatus()).toEqual({ status: 'COMPLETED', moved: 1, total: 1 });
    expect(queue.snapshot()).toEqual([{ body: JSON.stringify(task()), receiveCount: 0, groupId: 'acme#s1' }]);
  });
});
