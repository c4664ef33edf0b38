import {
  ChangeMessageVisibilityCommand,
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
import { SqsTaskQueue } from '../../../../functions/adapters/aws/task-queue.ts';
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
const visibilityTimeouts = () =>
  sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.VisibilityTimeout);

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
      [20, 21, 22].map((n, i) => ({ Id: String(i), MessageBody: JSON.stringify(all[n]) })),
    );
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

describe('SqsTaskQueue visibility', () => {
  it('hides a task for its retry delay, rounded up to whole seconds', async () => {
    await queue().retryLater('rh-1', 4.2);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      ReceiptHandle: 'rh-1',
      VisibilityTimeout: 5,
    });
  });

  it("caps a retry delay below SQS's 12 hours, leaving room for the receive's wait and run", async () => {
    await queue().retryLater('rh-1', 50_000);
    expect(visibilityTimeouts()).toEqual([12 * 3600 - 12 * 60]);
  });

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
