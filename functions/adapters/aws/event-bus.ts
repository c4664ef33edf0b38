import { setTimeout as sleep } from 'node:timers/promises';
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { PartialPublish } from '../../core/errors.ts';
import { BUS_SOURCE, packForBus, type RelayEvent } from '../../core/event.ts';
import type { EventBus } from '../../core/ports.ts';
import { backoffMs, chunkWithin, forEachLimited } from './batching.ts';

/** PutEvents takes at most 10 entries per request. */
const MAX_ENTRIES_PER_REQUEST = 10;
/** ...and at most 256 KB of entries, sized as {@link entrySize} does. */
const MAX_REQUEST_BYTES = 256 * 1024;
/** Requests in flight at once: a 100-event batch goes out in one round trip, not ten. */
const MAX_CONCURRENT_REQUESTS = 10;
/** `Time` counts as 14 bytes in EventBridge's sizing of an entry. */
const TIME_BYTES = 14;

const utf8Bytes = (s: string | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);

/**
 * An entry's size as EventBridge counts it against the request limit (Time, Source, DetailType,
 * Detail), plus the bus name, which AWS does not count: a margin that keeps us under the limit.
 */
function entrySize(entry: PutEventsRequestEntry): number {
  return (
    TIME_BYTES +
    utf8Bytes(entry.Source) +
    utf8Bytes(entry.DetailType) +
    utf8Bytes(entry.Detail) +
    utf8Bytes(entry.EventBusName)
  );
}

/** Why one entry is still refused. */
interface EntryFailure {
  code?: string;
  message?: string;
}

/**
 * The relay's event bus on Amazon EventBridge. `publish` resolves only once EventBridge has
 * accepted every event: entries it refuses are re-sent with backoff, and those still refused
 * make it throw, so the ingest handler answers 5xx and the producer retries. Nothing is dropped
 * silently.
 */
export class EventBridgeBus implements EventBus {
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;

  /**
   * @param opts.maxRetries re-sends of refused entries after the first request (default 3).
   * @param opts.baseDelayMs backoff before the first re-send, doubled for each further one
   *   (default 50 ms: ingest answers a waiting producer, so the whole schedule stays well under 1 s).
   */
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
    opts: { maxRetries?: number; baseDelayMs?: number } = {},
  ) {
    this.maxRetries = opts.maxRetries ?? 3;
    this.baseDelayMs = opts.baseDelayMs ?? 50;
  }

  /**
   * Puts `events` on the bus, in as many PutEvents requests as the entry-count and size limits
   * require. Throws when some entry is still refused after the retries, or on an SDK error.
   */
  async publish(events: readonly RelayEvent[]): Promise<void> {
    if (events.length === 0) return;
    // A batch goes as few entries as the 64 KB chunk allows (core/event.ts, packForBus).
    const packed = packForBus(events);
    const entries = packed.map(
      (p): PutEventsRequestEntry => ({
        Source: BUS_SOURCE,
        DetailType: p.detailType,
        Detail: p.detail,
        EventBusName: this.eventBusName,
        Time: new Date(p.receivedAt),
      }),
    );
    // A refused entry leaves every event it carries off the bus.
    const idsOf = new Map(entries.map((entry, i) => [entry, (packed[i]?.events ?? []).map((e) => e.id)]));
    const failures: Array<EntryFailure & { entry: PutEventsRequestEntry }> = [];
    await forEachLimited(
      chunkWithin(entries, MAX_ENTRIES_PER_REQUEST, MAX_REQUEST_BYTES, entrySize),
      MAX_CONCURRENT_REQUESTS,
      async (chunk) => {
        try {
          failures.push(...(await this.putChunk(chunk)));
        } catch (err) {
          // The request itself failed: none of this chunk is known to be on the bus.
          for (const entry of chunk)
            failures.push({ entry, code: (err as Error).name, message: (err as Error).message });
        }
      },
    );
    const [first] = failures;
    if (first) {
      const unpublished = new Set(failures.flatMap((f) => idsOf.get(f.entry) ?? []));
      throw new PartialPublish(
        `EventBridge refused ${failures.length} of ${entries.length} entries (${unpublished.size} of ${events.length} events) on bus ${this.eventBusName} ` +
          `after ${this.maxRetries + 1} attempts; first error: ${first.code ?? 'unknown'}: ${first.message ?? 'no message'}`,
        unpublished,
      );
    }
  }

  /** One request's entries, re-sending the refused ones; returns those still refused. */
  private async putChunk(
    chunk: readonly PutEventsRequestEntry[],
  ): Promise<Array<EntryFailure & { entry: PutEventsRequestEntry }>> {
    let pending = chunk;
    let failures: Array<EntryFailure & { entry: PutEventsRequestEntry }> = [];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > this.maxRetries) return failures;
      if (attempt > 0) await sleep(backoffMs(this.baseDelayMs, attempt));
      const res = await this.client.send(new PutEventsCommand({ Entries: [...pending] }));
      if (!res.FailedEntryCount) return [];
      // Results line up with the request's entries by index; a refused one carries an ErrorCode
      // instead of an EventId.
      const refused = pending
        .map((entry, i) => ({ entry, result: res.Entries?.[i] }))
        .filter(({ result }) => isRefused(result));
      pending = refused.map(({ entry }) => entry);
      failures = refused.map(({ entry, result }) => ({
        entry,
        code: result?.ErrorCode,
        message: result?.ErrorMessage,
      }));
    }
    return [];
  }
}

function isRefused(result: PutEventsResultEntry | undefined): boolean {
  return result?.ErrorCode !== undefined || result?.EventId === undefined;
}
