import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsOrderedQueue } from '../../../../functions/adapters/aws/ordered-queue.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/relay-ordered.fifo';
const sqs = mockClient(SQSClient);
const queue = () => new SqsOrderedQueue(new SQSClient({}), QUEUE_URL);
const wakes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    tenant: 'acme',
    subscriptionId: `sub_${i % 3}`,
    dedupId: `dlv_${i}`,
  }));

describe('SQS ordered queue (FIFO wake-ups)', () => {
  beforeEach(() => sqs.reset());

  it('sends each wake-up in its subscription’s message group with the caller’s deduplication id, 10 per request', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    await queue().wake(wakes(23));
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    const [first] = calls[0]?.args[0].input.Entries ?? [];
    expect(first).toMatchObject({
      MessageGroupId: 'acme#sub_0',
      MessageDeduplicationId: 'dlv_0',
      MessageBody: JSON.stringify({ tenant: 'acme', subscriptionId: 'sub_0' }),
    });
    expect(first).not.toHaveProperty('DelaySeconds');
  });

  it('re-sends entries SQS failed on its side and gives up loudly on a sender fault', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', Code: 'ThrottlingException', SenderFault: false }] })
      .resolves({ Failed: [] });
    await queue().wake(wakes(2));
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls[1]?.args[0].input.Entries?.map((e) => e.Id)).toEqual(['1']);

    sqs.reset();
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: '0', Code: 'InvalidParameterValue', SenderFault: true, Message: 'bad' }] });
    await expect(queue().wake(wakes(1))).rejects.toThrow(/InvalidParameterValue/);
  });

  it('holds a received wake-up by changing its visibility, in whole seconds within 12 hours', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    await queue().hold('rh-1', 9.2);
    await queue().hold('rh-2', 50_000);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-1', VisibilityTimeout: 10 },
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-2', VisibilityTimeout: 43_200 },
    ]);
  });
});
