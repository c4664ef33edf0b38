import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ResourceNotFoundException,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
  SQSServiceException,
  StartMessageMoveTaskCommand,
  UnsupportedOperation,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { queueUrlOfArn, SqsTaskQueue } from '../../../../functions/adapters/aws/task-queue.ts';
import type { DeliveryTask } from '../../../../functions/core/delivery/model.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/relay-delivery';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:relay-delivery-dlq';
const sqs = mockClient(SQSClient);
const queue = (opts: { maxRetries?: number } = {}) =>
  new SqsTaskQueue(new SQSClient({}), {
    queueUrl: QUEUE_URL,
    deadLetterQueueArn: DLQ_ARN,
    baseDelayMs: 1,
    ...opts,
  });

const task = (n: number, pad = ''): DeliveryTask => ({
  deliveryId: `dlv_${n}${pad}`,
  tenant: 'default',
  eventId: `evt_${n}`,
  subscriptionId: 'sub_1',
});
const tasks = (count: number, pad?: string) => Array.from({ length: count }, (_, n) => task(n, pad));

type BatchInput = { QueueUrl?: string; Entries?: SendMessageBatchRequestEntry[] };
const batches = () => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
const entries = () => batches().map((b) => b.Entries ?? []);
const deliveryIds = (batch: SendMessageBatchRequestEntry[]) =>
  batch.map((e) => (JSON.parse(e.MessageBody ?? '{}') as DeliveryTask).deliveryId);
const sendAll = (input: BatchInput) => ({
  Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })),
  Failed: [],
});
/** Fails the entries whose ids are listed, sends the rest. */
const failing =
  (ids: readonly string[], failure: { Code: string; Message: string; SenderFault: boolean }) =>
  (input: BatchInput) => ({
    Successful: sendAll(input).Successful.filter((s) => !ids.includes(s.Id ?? '')),
    Failed: (input.Entries ?? [])
      .filter((e) => ids.includes(e.Id ?? ''))
      .map((e) => ({ Id: e.Id, ...failure })),
  });
const throttled = { Code: 'RequestThrottled', Message: 'slow down', SenderFault: false };
const delays = (batch: SendMessageBatchRequestEntry[]) => batch.map((e) => e.DelaySeconds);
const outcomes = (results: PromiseSettledResult<void>[]) => results.map((r) => r.status);

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake(sendAll);
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
});

describe('SqsTaskQueue.enqueue', () => {
  it('sends 23 tasks to the delivery queue as batches of 10, 10 and 3, each task as a JSON message', async () => {
    const all = tasks(23);
    await queue().enqueue(all);
    expect(entries().map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches().every((b) => b.QueueUrl === QUEUE_URL)).toBe(true);
    expect(entries()[2]).toEqual(
      [20, 21, 22].map((n, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify(all[n]),
        MessageGroupId: 'default#sub_1',
      })),
    );
  });

  it('puts each task in the message group of its endpoint, tenant#subscription, with no delay', async () => {
    const mixed = [task(0), { ...task(1), tenant: 'acme' }, { ...task(2), subscriptionId: 'sub_2' }];
    await queue().enqueue(mixed);
    expect(entries()[0]?.map((e) => e.MessageGroupId)).toEqual([
      'default#sub_1',
      'acme#sub_1',
      'default#sub_2',
    ]);
    expect(entries()[0]?.some((e) => 'DelaySeconds' in e)).toBe(false);
  });

  it('gathers enqueues made together into one request, and fails only the caller whose task was not queued', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(failing(['2'], throttled));
    const q = queue({ maxRetries: 1 });
    const results = await Promise.allSettled([q.enqueue(tasks(2)), q.enqueue([task(2), task(3)])]);
    expect(outcomes(results)).toEqual(['fulfilled', 'rejected']);
    expect(results[1]?.status === 'rejected' && String(results[1].reason)).toMatch(
      /did not queue 1 of 2 delivery tasks/,
    );
    expect(entries().map(deliveryIds)).toEqual([['dlv_0', 'dlv_1', 'dlv_2', 'dlv_3'], ['dlv_2']]);
  });

  it('sends nothing for an empty list', async () => {
    await queue().enqueue([]);
    expect(batches()).toHaveLength(0);
  });

  it('splits batches so none carries over 1 MiB of messages', async () => {
    // About 300 KB per task: three fit in a batch, not four.
    const big = tasks(7, 'x'.repeat(300_000));
    await queue().enqueue(big);
    expect(entries().map((b) => b.length)).toEqual([3, 3, 1]);
    expect(entries().flatMap(deliveryIds)).toEqual(big.map((t) => t.deliveryId));
  });

  it('re-sends only the entries SQS failed, then resolves', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce(failing(['2', '5'], throttled))
      .callsFake(sendAll);
    await queue().enqueue(tasks(10));
    expect(entries().map((b) => b.length)).toEqual([10, 2]);
    expect(deliveryIds(entries()[1] ?? [])).toEqual(['dlv_2', 'dlv_5']);
    expect(entries()[1]?.map((e) => e.Id)).toEqual(['2', '5']);
  });

  it('throws naming how many tasks were not queued and the first error once the retries run out', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(failing(['0', '1'], throttled));
    await expect(queue({ maxRetries: 2 }).enqueue(tasks(5))).rejects.toThrow(
      /did not queue 2 of 5 delivery tasks.*RequestThrottled: slow down/,
    );
    expect(entries().map((b) => b.length)).toEqual([5, 2, 2]);
  });

  it('throws on a sender fault without re-sending the refused entry', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFake(
        failing(['1'], { Code: 'InvalidMessageContents', Message: 'bad character', SenderFault: true }),
      );
    await expect(queue().enqueue(tasks(3))).rejects.toThrow(
      /did not queue 1 of 3 .*InvalidMessageContents \(sender fault\): bad character/,
    );
    expect(batches()).toHaveLength(1);
  });

  it('still re-sends the other failed entries of a batch that also had a sender fault', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [],
        Failed: [
          { Id: '0', Code: 'InvalidMessageContents', Message: 'bad character', SenderFault: true },
          { Id: '1', ...throttled },
        ],
      })
      .callsFake(sendAll);
    await expect(queue().enqueue(tasks(2))).rejects.toThrow(/did not queue 1 of 2 .*InvalidMessageContents/);
    expect(deliveryIds(entries()[1] ?? [])).toEqual(['dlv_1']);
  });

  it('treats an entry reported neither sent nor failed as not queued', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    await expect(queue({ maxRetries: 0 }).enqueue(tasks(1))).rejects.toThrow(/did not queue 1 of 1/);
  });

  it('propagates an error of the SDK call', async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error('AccessDenied'));
    await expect(queue().enqueue(tasks(1))).rejects.toThrow('AccessDenied');
  });
});

describe('SqsTaskQueue.sendDelayed', () => {
  it('sends the delayed copies of one batch as one request, each entry with its own delay and group', async () => {
    const q = queue();
    const copies = tasks(10).map((t, n) => ({ ...t, subscriptionId: `sub_${n % 2}`, attempt: 2 }));
    await Promise.all(copies.map((t, n) => q.sendDelayed(t, n * 90)));
    expect(batches()).toHaveLength(1);
    expect(batches()[0]?.QueueUrl).toBe(QUEUE_URL);
    expect(entries()[0]).toEqual(
      copies.map((t, n) => ({
        Id: String(n),
        MessageBody: JSON.stringify(t),
        MessageGroupId: `default#sub_${n % 2}`,
        DelaySeconds: n * 90,
      })),
    );
  });

  it('gathers sends made in separate turns within the window, new tasks and delayed copies alike', async () => {
    const q = queue();
    const first = q.sendDelayed(task(0), 30);
    await Promise.resolve();
    const second = q.enqueue([task(1)]);
    await Promise.resolve();
    await Promise.all([first, second, q.sendDelayed(task(2), 0)]);
    expect(entries().map(deliveryIds)).toEqual([['dlv_0', 'dlv_1', 'dlv_2']]);
    expect(entries().map(delays)).toEqual([[30, undefined, 0]]);
  });

  it('rounds a delay up to whole seconds, up to the 15-minute limit', async () => {
    const q = queue();
    await Promise.all([
      q.sendDelayed(task(0), 4.2),
      q.sendDelayed(task(1), 899.1),
      q.sendDelayed(task(2), 900),
    ]);
    expect(entries().map(delays)).toEqual([[5, 900, 900]]);
  });

  it.each([-1, -0.5, 900.5, 901, 3600, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses a delay of %s seconds instead of clamping it, sending nothing',
    async (delay) => {
      await expect(queue().sendDelayed(task(0), delay)).rejects.toThrow(
        /waits 0 to 900 seconds, not .*delivery dlv_0/,
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(batches()).toHaveLength(0);
    },
  );

  it('re-sends only the failed entries of a batch of copies, keeping their delays and groups', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce(failing(['1', '3'], throttled))
      .callsFake(sendAll);
    const q = queue();
    await Promise.all(tasks(4).map((t, n) => q.sendDelayed(t, 10 + n)));
    expect(entries().map(deliveryIds)).toEqual([
      ['dlv_0', 'dlv_1', 'dlv_2', 'dlv_3'],
      ['dlv_1', 'dlv_3'],
    ]);
    expect(entries()[1]).toEqual([
      { Id: '1', MessageBody: JSON.stringify(task(1)), MessageGroupId: 'default#sub_1', DelaySeconds: 11 },
      { Id: '3', MessageBody: JSON.stringify(task(3)), MessageGroupId: 'default#sub_1', DelaySeconds: 13 },
    ]);
  });

  it('rejects only the copies still unsent after the re-sends, each with its own error', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input: BatchInput) => ({
        Successful: sendAll(input).Successful.filter((s) => ['1', '3'].includes(s.Id ?? '')),
        Failed: [
          { Id: '0', Code: 'InvalidParameterValue', Message: 'bad delay', SenderFault: true },
          { Id: '2', ...throttled },
        ],
      }))
      .callsFake(failing(['2'], throttled));
    const q = queue({ maxRetries: 2 });
    const results = await Promise.allSettled(tasks(4).map((t) => q.sendDelayed(t, 60)));
    expect(outcomes(results)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(entries().map(deliveryIds)).toEqual([['dlv_0', 'dlv_1', 'dlv_2', 'dlv_3'], ['dlv_2'], ['dlv_2']]);
    const [refused, , throttledCopy] = results;
    expect(refused?.status === 'rejected' && String(refused.reason)).toMatch(
      /did not queue the copy of delivery dlv_0 delayed 60 s.*InvalidParameterValue \(sender fault\): bad delay/,
    );
    expect(throttledCopy?.status === 'rejected' && String(throttledCopy.reason)).toMatch(
      /did not queue the copy of delivery dlv_2 delayed 60 s.*RequestThrottled: slow down/,
    );
  });

  it("rejects the copies a failed request carried with the SDK's error, and resolves the others", async () => {
    sqs.on(SendMessageBatchCommand).callsFakeOnce(sendAll).rejects(new Error('connection reset'));
    const q = queue();
    // Ten fill one request at once; the eleventh goes in the next.
    const results = await Promise.allSettled(tasks(11).map((t) => q.sendDelayed(t, 5)));
    expect(outcomes(results)).toEqual([...Array(10).fill('fulfilled'), 'rejected']);
    expect(results[10]?.status === 'rejected' && String(results[10].reason)).toMatch('connection reset');
  });
});

describe('SqsTaskQueue.releaseToDeadLetter', () => {
  it('releases a task toward the DLQ by making it visible at once', async () => {
    await queue().releaseToDeadLetter('rh-2');
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      ReceiptHandle: 'rh-2',
      VisibilityTimeout: 0,
    });
  });
});

describe('SqsTaskQueue redrive', () => {
  const running = {
    TaskHandle: 'handle-1',
    Status: 'RUNNING',
    SourceArn: DLQ_ARN,
    ApproximateNumberOfMessagesMoved: 40,
    ApproximateNumberOfMessagesToMove: 120,
  };
  const alreadyRunning = () =>
    new UnsupportedOperation({ message: 'There is already an active message movement task', $metadata: {} });

  it('moves the DLQ back to its source queue by naming no destination, and reports the size of the move', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-1' });
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolves({ Results: [{ ...running, ApproximateNumberOfMessagesMoved: 0 }] });
    expect(await queue().startRedrive()).toEqual({ status: 'RUNNING', moved: 0, total: 120 });
    const start = sqs.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input;
    expect(start).toEqual({ SourceArn: DLQ_ARN });
    expect(start).not.toHaveProperty('DestinationArn');
    expect(sqs.commandCalls(ListMessageMoveTasksCommand)[0]?.args[0].input).toEqual({
      SourceArn: DLQ_ARN,
      MaxResults: 1,
    });
  });

  it('reports a total of 0 when the latest listed task is not the one just started', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-2' });
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [running] });
    expect(await queue().startRedrive()).toEqual({ status: 'RUNNING', moved: 0, total: 0 });
  });

  it('still reports a started redrive when its size cannot be read', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-1' });
    sqs.on(ListMessageMoveTasksCommand).rejects(new Error('throttled'));
    expect(await queue().startRedrive()).toEqual({ status: 'RUNNING', moved: 0, total: 0 });
  });

  it('returns the progress of the redrive already under way instead of failing', async () => {
    sqs.on(StartMessageMoveTaskCommand).rejects(alreadyRunning());
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [running] });
    expect(await queue().startRedrive()).toEqual({ status: 'RUNNING', moved: 40, total: 120 });
  });

  it('recognises a running task from the error message when SQS names another error', async () => {
    sqs.on(StartMessageMoveTaskCommand).rejects(
      new SQSServiceException({
        name: 'InvalidParameterValue',
        $fault: 'client',
        message: 'There is already a task running. Only one active task is allowed for a source queue arn.',
        $metadata: {},
      }),
    );
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [running] });
    expect(await queue().startRedrive()).toEqual({ status: 'RUNNING', moved: 40, total: 120 });
  });

  it('rethrows a conflict when the latest task is no longer active', async () => {
    sqs.on(StartMessageMoveTaskCommand).rejects(alreadyRunning());
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [{ ...running, Status: 'COMPLETED' }] });
    await expect(queue().startRedrive()).rejects.toThrow('already an active message movement task');
  });

  it('propagates any other failure to start', async () => {
    sqs
      .on(StartMessageMoveTaskCommand)
      .rejects(new ResourceNotFoundException({ message: 'no such queue', $metadata: {} }));
    await expect(queue().startRedrive()).rejects.toThrow('no such queue');
    expect(sqs.commandCalls(ListMessageMoveTasksCommand)).toHaveLength(0);
  });

  it.each([
    ['RUNNING', 'RUNNING'],
    ['COMPLETED', 'COMPLETED'],
    ['CANCELLED', 'CANCELLED'],
    ['CANCELLING', 'CANCELLED'],
    ['FAILED', 'FAILED'],
  ])('reads the latest redrive in state %s as %s', async (sqsStatus, status) => {
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [{ ...running, Status: sqsStatus }] });
    expect(await queue().redriveStatus()).toEqual({ status, moved: 40, total: 120 });
  });

  it('reads no redrive status when the DLQ never had a move task', async () => {
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
    expect(await queue().redriveStatus()).toBeUndefined();
  });
});

describe('SqsTaskQueue.deadLetterCount', () => {
  beforeEach(() => sqs.reset());

  it("reads the DLQ's approximate count, at the URL its ARN names", async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '42' } });
    expect(await queue().deadLetterCount()).toBe(42);
    expect(sqs.commandCalls(GetQueueAttributesCommand)[0]?.args[0].input).toEqual({
      QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/relay-delivery-dlq',
      AttributeNames: ['ApproximateNumberOfMessages'],
    });
    expect(queueUrlOfArn('arn:aws-cn:sqs:cn-north-1:123456789012:q')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q',
    );
  });
});
