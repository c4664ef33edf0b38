import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeBus } from '../../../../functions/adapters/aws/event-bus.ts';
import { PartialPublish } from '../../../../functions/core/errors.ts';
import { BUS_SOURCE, type RelayEvent } from '../../../../functions/core/event.ts';

const BUS = 'relay-events';
const eventBridge = mockClient(EventBridgeClient);
const bus = () => new EventBridgeBus(new EventBridgeClient({}), BUS, { baseDelayMs: 1 });

function relayEvent(n: number, data: Record<string, unknown> = { n }): RelayEvent {
  return {
    id: `evt_${n}`,
    tenant: 'default',
    type: 'order.created',
    timestamp: '2026-01-02T03:04:05.000Z',
    data,
    receivedAt: '2026-01-02T03:04:06.000Z',
  };
}
const events = (count: number, data?: (n: number) => Record<string, unknown>) =>
  Array.from({ length: count }, (_, n) => relayEvent(n, data?.(n)));

const calls = () => eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
const idsOf = (entries: PutEventsRequestEntry[]) =>
  entries.flatMap((e) => {
    const detail = JSON.parse(e.Detail ?? '{}') as RelayEvent | { events: RelayEvent[] };
    return 'events' in detail ? detail.events.map((x) => x.id) : [detail.id];
  });
/** Events of ~40 KB: one per entry (two would pass the 64 KB a pack holds). */
const bigEvents = (count: number) => events(count, (n) => ({ n, blob: 'y'.repeat(40_000) }));
const accepted = (entries: PutEventsRequestEntry[] | undefined): PutEventsResultEntry[] =>
  (entries ?? []).map((_, i) => ({ EventId: `eb-${i}` }));
const acceptAll = (input: { Entries?: PutEventsRequestEntry[] }) => ({
  FailedEntryCount: 0,
  Entries: accepted(input.Entries),
});

beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).callsFake(acceptAll);
});

describe('EventBridgeBus', () => {
  it('puts each event on the named bus with the relay source, its type and the whole event as detail', async () => {
    const event = relayEvent(1);
    await bus().publish([event]);
    expect(calls()).toEqual([
      [
        {
          Source: BUS_SOURCE,
          DetailType: 'order.created',
          Detail: JSON.stringify(event),
          EventBusName: BUS,
          Time: new Date('2026-01-02T03:04:06.000Z'),
        },
      ],
    ]);
  });

  it('sends nothing for an empty list', async () => {
    await bus().publish([]);
    expect(calls()).toHaveLength(0);
  });

  it('packs 25 small events into one relay.pack entry, in order', async () => {
    await bus().publish(events(25));
    expect(calls().map((c) => c.length)).toEqual([1]);
    expect(calls()[0]?.[0]?.DetailType).toBe('relay.pack');
    expect(calls().flatMap(idsOf)).toEqual(events(25).map((e) => e.id));
  });

  it('sends a batch of 100 events of 1 KB as two entries of at most 64 KB, in one request', async () => {
    const batch = events(100, (n) => ({ n, text: 'z'.repeat(1000) }));
    await bus().publish(batch);
    expect(calls().map((c) => c.length)).toEqual([2]);
    for (const entry of calls()[0] ?? []) {
      const size = 14 + Buffer.byteLength(`${entry.Source}${entry.DetailType}${entry.Detail}`, 'utf8');
      expect(size).toBeLessThanOrEqual(64 * 1024);
    }
    expect(calls().flatMap(idsOf)).toEqual(batch.map((e) => e.id));
  });

  it('splits large events across requests so no request carries over 256 KB of entries', async () => {
    const big = events(10, (n) => ({ n, blob: 'x'.repeat(60_000) }));
    await bus().publish(big);
    const sizes = calls().map((c) =>
      c.reduce(
        (sum, e) =>
          sum + 14 + Buffer.byteLength(`${e.Source}${e.DetailType}${e.Detail}${e.EventBusName}`, 'utf8'),
        0,
      ),
    );
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(256 * 1024);
    expect(calls().flatMap(idsOf)).toEqual(big.map((e) => e.id));
  });

  it('counts multi-byte characters by their UTF-8 size when splitting', async () => {
    // 30 000 three-byte characters: 90 KB each, so at most two fit in a request.
    const wide = events(5, (n) => ({ n, text: '€'.repeat(30_000) }));
    await bus().publish(wide);
    expect(calls().map((c) => c.length)).toEqual([2, 2, 1]);
  });

  it('re-sends only the entries EventBridge refused, then resolves', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: accepted(Array(6).fill({})).map((r, i) =>
          i === 1 || i === 4 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' } : r,
        ),
      })
      .callsFake(acceptAll);
    // Six entries of ~40 KB fill one request (256 KB).
    await bus().publish(bigEvents(6));
    expect(calls().map((c) => c.length)).toEqual([6, 2]);
    expect(idsOf(calls()[1] ?? [])).toEqual(['evt_1', 'evt_4']);
  });

  it('throws naming how many events failed and the first error once the retries run out', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => ({
      FailedEntryCount: input.Entries?.length,
      Entries: (input.Entries ?? []).map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' })),
    }));
    const publishing = new EventBridgeBus(new EventBridgeClient({}), BUS, {
      maxRetries: 2,
      baseDelayMs: 1,
    }).publish(events(3));
    await expect(publishing).rejects.toThrow(
      /refused 1 of 1 entries \(3 of 3 events\) .*InternalFailure: try again/,
    );
    expect(calls()).toHaveLength(3);
  });

  it('names every event of a refused pack as unpublished, and none of an accepted entry', async () => {
    // Two packs: 100 events of ~1 KB. EventBridge keeps refusing the second.
    const batch = events(100, (n) => ({ n, text: 'z'.repeat(1000) }));
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => {
      const entries = input.Entries ?? [];
      const refuse = (e: PutEventsRequestEntry) => idsOf([e]).includes('evt_99');
      return {
        FailedEntryCount: entries.filter(refuse).length,
        Entries: entries.map((e, i) =>
          refuse(e) ? { ErrorCode: 'InternalFailure' } : { EventId: `eb-${i}` },
        ),
      };
    });
    const failure = await bus()
      .publish(batch)
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(PartialPublish);
    const unpublished = [...(failure as PartialPublish).unpublished];
    const second = idsOf([calls()[0]?.[1] ?? {}]);
    expect(unpublished.sort()).toEqual(second.sort());
    expect(unpublished).toContain('evt_99');
    expect(unpublished).not.toContain('evt_0');
  });

  it('treats an entry without an event id as refused when the response reports failures', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'eb-0' }] })
      .callsFake(acceptAll);
    await bus().publish(bigEvents(2));
    expect(idsOf(calls()[1] ?? [])).toEqual(['evt_1']);
  });

  it('propagates an error of the SDK call', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('AccessDeniedException: not allowed'));
    await expect(bus().publish(events(1))).rejects.toThrow('AccessDeniedException: not allowed');
  });
});
