import { randomUUID } from 'node:crypto';
import { BUS_SOURCE, packForBus, type RelayEvent } from '../../core/event.ts';
import type { EventBus } from '../../core/ports.ts';
import type { LocalQueue } from './queue.ts';

/** An EventBridge rule, locally: events whose `source` is listed go to the target queue. */
export interface LocalRule {
  name: string;
  sources: readonly string[];
  target: LocalQueue;
}

/**
 * The event bus in process. Events are packed into entries as on AWS, and each entry reaches rule
 * targets in the shape EventBridge gives an SQS target (`{version, id, detail-type, source, ...,
 * detail}`), so the fanout handler parses the same messages locally and on AWS.
 */
export class LocalEventBus implements EventBus {
  constructor(private readonly rules: readonly LocalRule[]) {}

  /** `opts.replay` marks the events as EventBridge marks an archive replay's (`replay-name`). */
  async publish(events: readonly RelayEvent[], opts: { replay?: string } = {}): Promise<void> {
    // Packed as on AWS (core/event.ts, packForBus): one message per entry.
    for (const entry of packForBus(events)) {
      const envelope = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.detailType,
        source: BUS_SOURCE,
        account: '000000000000',
        // The entry's Time, as the AWS adapter sets it: when the events were received.
        time: new Date(entry.receivedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: 'local',
        resources: [],
        ...(opts.replay ? { 'replay-name': opts.replay } : {}),
        detail: '__DETAIL__',
      };
      const body = JSON.stringify(envelope).replace('"__DETAIL__"', () => entry.detail);
      for (const rule of this.rules) if (rule.sources.includes(envelope.source)) rule.target.send(body);
    }
  }
}
