import { Duration, Stack } from 'aws-cdk-lib';
import { type IQueue, Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface QueueWithDlqProps {
  /**
   * Queue name; the DLQ is `<name>-dlq`. Explicit so the DLQ can name its source (below). A FIFO
   * pair takes SQS's suffix after these: `<name>.fifo` and `<name>-dlq.fifo`.
   */
  readonly queueName: string;
  /** At least 6x the consuming function's timeout (AWS guidance for SQS event sources). */
  readonly visibilityTimeout: Duration;
  /** Receives before the queue moves a message to its DLQ. */
  readonly maxReceiveCount: number;
  /** @default 4 days */
  readonly retentionPeriod?: Duration;
  /** Names of other queues that dead-letter into this DLQ (and that a redrive may return to). */
  readonly otherSourceQueueNames?: readonly string[];
  /**
   * A FIFO queue and a FIFO DLQ (SQS accepts only a FIFO DLQ for a FIFO queue), without
   * content-based deduplication: senders set MessageDeduplicationId themselves.
   * @default false (standard queues)
   */
  readonly fifo?: boolean;
}

/**
 * A work queue and its dead-letter queue, set up so that "Start DLQ redrive" in the SQS console
 * (and StartMessageMoveTask) puts messages straight back: the DLQ's redrive-allow policy admits
 * exactly its source queue. The source queue's ARN is built from its name rather than
 * referenced, which would make the two queues depend on each other. The DLQ keeps messages 14
 * days, longer than the source, because a standard DLQ keeps each message's original enqueue
 * time (a FIFO DLQ resets it on the move, so there the 14 days run from the dead-lettering).
 */
/**
 * SQS's largest message, set explicitly: a delivery task carries its event (up to 256 KB) plus
 * its envelope, and a fanout message an entry plus EventBridge's wrapper, both over 256 KiB,
 * which queues created before SQS raised its default still have.
 */
const MAX_MESSAGE_BYTES = 1_048_576;

export class QueueWithDlq extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    const fifo = props.fifo ?? false;
    const named = (name: string) => (fifo ? `${name}.fifo` : name);
    const fifoProps = fifo ? { fifo: true, contentBasedDeduplication: false } : {};
    const sourceRef = (name: string, id: string): IQueue =>
      Queue.fromQueueArn(this, id, Stack.of(this).formatArn({ service: 'sqs', resource: name }));
    const sources = [
      sourceRef(named(props.queueName), 'SourceRef'),
      ...(props.otherSourceQueueNames ?? []).map((name, i) => sourceRef(name, `OtherSourceRef${i}`)),
    ];
    this.deadLetterQueue = new Queue(this, 'Dlq', {
      queueName: named(`${props.queueName}-dlq`),
      ...fifoProps,
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      redriveAllowPolicy: { redrivePermission: RedrivePermission.BY_QUEUE, sourceQueues: sources },
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: named(props.queueName),
      ...fifoProps,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: props.retentionPeriod ?? Duration.days(4),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
