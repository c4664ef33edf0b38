import {
  DescribeReplayCommand,
  type EventBridgeClient,
  ListReplaysCommand,
  type ListReplaysCommandOutput,
  type ReplayState,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { ulid } from '../../core/ids.ts';
import type { EventReplayer, ReplayStatus, ReplayWindow } from '../../core/ports.ts';

export interface ArchiveReplayConfig {
  /** The bus archive holding every ingested event. */
  archiveArn: string;
  /** Replays go back to the bus the archive belongs to... */
  eventBusArn: string;
  /** ...but only to the rule that feeds the fanout queue. */
  fanoutRuleArn: string;
}

/**
 * Replay on AWS: an EventBridge archive replay (StartReplay) of the window, sent only to the
 * fanout rule. EventBridge marks replayed events with `replay-name`, which fanout turns into new
 * deliveries. Progress is DescribeReplay's state and the time of the last event replayed.
 */
/** ListReplays pages read at most (100 replays each). */
const MAX_REPLAY_PAGES = 20;

export class ArchiveReplayer implements EventReplayer {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly config: ArchiveReplayConfig,
  ) {}

  async start(window: ReplayWindow): Promise<ReplayStatus> {
    // Replay names: up to 64 of [.-_A-Za-z0-9]; a ULID keeps them unique and time-ordered.
    const name = `replay-${ulid()}`;
    const res = await this.client.send(
      new StartReplayCommand({
        ReplayName: name,
        Description: `relay replay ${window.from.toISOString()} .. ${window.to.toISOString()}`,
        EventSourceArn: this.config.archiveArn,
        EventStartTime: window.from,
        EventEndTime: window.to,
        Destination: { Arn: this.config.eventBusArn, FilterArns: [this.config.fanoutRuleArn] },
      }),
    );
    return {
      id: name,
      status: toStatus(res.State),
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      ...(res.StateReason ? { reason: res.StateReason } : {}),
    };
  }

  /** The relay's replays of its archive (names `replay-{ulid}`): the newest 100, newest first. */
  async list(): Promise<ReplayStatus[]> {
    // Every page (ListReplays' order is not documented), then newest first by name (a ULID).
    const replays: NonNullable<ListReplaysCommandOutput['Replays']> = [];
    let token: string | undefined;
    for (let pages = 0; pages < MAX_REPLAY_PAGES; pages++) {
      const res: ListReplaysCommandOutput = await this.client.send(
        new ListReplaysCommand({
          EventSourceArn: this.config.archiveArn,
          NamePrefix: 'replay-',
          Limit: 100,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      replays.push(...(res.Replays ?? []));
      token = res.NextToken;
      if (!token) break;
    }
    return replays
      .filter((r) => r.ReplayName)
      .map((r) => ({
        id: r.ReplayName as string,
        status: toStatus(r.State),
        from: r.EventStartTime?.toISOString() ?? '',
        to: r.EventEndTime?.toISOString() ?? '',
        ...(r.EventLastReplayedTime ? { lastReplayedAt: r.EventLastReplayedTime.toISOString() } : {}),
        ...(r.StateReason ? { reason: r.StateReason } : {}),
      }))
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, 100);
  }

  async status(id: string): Promise<ReplayStatus | undefined> {
    try {
      const res = await this.client.send(new DescribeReplayCommand({ ReplayName: id }));
      return {
        id,
        status: toStatus(res.State),
        from: res.EventStartTime?.toISOString() ?? '',
        to: res.EventEndTime?.toISOString() ?? '',
        ...(res.EventLastReplayedTime ? { lastReplayedAt: res.EventLastReplayedTime.toISOString() } : {}),
        ...(res.StateReason ? { reason: res.StateReason } : {}),
      };
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }
}

function toStatus(state: ReplayState | string | undefined): ReplayStatus['status'] {
  switch (state) {
    case 'STARTING':
    case 'RUNNING':
    case 'CANCELLING':
    case 'COMPLETED':
    case 'CANCELLED':
    case 'FAILED':
      return state;
    default:
      return 'STARTING';
  }
}
