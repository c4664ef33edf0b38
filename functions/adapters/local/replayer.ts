import { logger } from '../../commons/logger.ts';
import type { RelayEvent } from '../../core/event.ts';
import { ulid } from '../../core/ids.ts';
import type { EventReplayer, ReplayStatus, ReplayWindow } from '../../core/ports.ts';
import type { LocalEventBus } from './event-bus.ts';

export interface EventSource {
  scanEvents(from: string, to: string): AsyncIterable<RelayEvent[]>;
}

/**
 * Replay in local mode: the window's events, read from the event store, go back on the bus in
 * the order they were accepted, marked as replayed (as an EventBridge archive replay marks them),
 * so fanout makes new deliveries to today's matching subscriptions.
 */
export class LocalReplayer implements EventReplayer {
  private readonly replays = new Map<string, ReplayStatus>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly source: EventSource,
    private readonly bus: LocalEventBus,
  ) {}

  async start(window: ReplayWindow): Promise<ReplayStatus> {
    const status: ReplayStatus = {
      id: `replay-${ulid()}`,
      status: 'RUNNING',
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      replayed: 0,
    };
    this.replays.set(status.id, status);
    const run = this.run(status).finally(() => this.running.delete(run));
    this.running.add(run);
    return { ...status };
  }

  async status(id: string): Promise<ReplayStatus | undefined> {
    const status = this.replays.get(id);
    return status ? { ...status } : undefined;
  }

  async list(): Promise<ReplayStatus[]> {
    // Ids are time-ordered (ULIDs): newest first is the reverse order.
    return [...this.replays.values()].map((s) => ({ ...s })).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  /** Waits for running replays (shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.running]);
  }

  private async run(status: ReplayStatus): Promise<void> {
    try {
      const events: RelayEvent[] = [];
      for await (const page of this.source.scanEvents(status.from, status.to)) events.push(...page);
      events.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
      for (let i = 0; i < events.length; i += 10) {
        const chunk = events.slice(i, i + 10);
        await this.bus.publish(chunk, { replay: status.id });
        status.replayed = (status.replayed ?? 0) + chunk.length;
        status.lastReplayedAt = chunk.at(-1)?.receivedAt;
      }
      status.status = 'COMPLETED';
      logger.info('replay completed', { replay: status.id, events: status.replayed });
    } catch (err) {
      status.status = 'FAILED';
      status.reason = err instanceof Error ? err.message : String(err);
      logger.error('replay failed', { replay: status.id, error: status.reason });
    }
  }
}
