import { describe, expect, it } from 'vitest';
import { compileSchema } from '../../../functions/core/catalog/validator.ts';
import { PartialPublish } from '../../../functions/core/errors.ts';
import type { RelayEvent } from '../../../functions/core/event.ts';
import { newEventId, receivedAtOfEventId } from '../../../functions/core/ids.ts';
import { acceptEvents, ingest } from '../../../functions/core/ingest.ts';
import type { EventBus, EventLedger } from '../../../functions/core/ports.ts';
import { fixedClock } from '../support/fakes.ts';

/** The ledger's contract in memory, with a log of what ingest asked. */
class MemoryLedger implements EventLedger {
  readonly state = new Map<string, 'in_flight' | 'accepted'>();
  readonly log: string[] = [];
  async claim(tenant: string, id: string) {
    const key = `${tenant}#${id}`;
    this.log.push(`claim ${key}`);
    const s = this.state.get(key);
    if (s) return s;
    this.state.set(key, 'in_flight');
    return 'claimed' as const;
  }
  async markAccepted(tenant: string, id: string) {
    this.log.push(`accept ${tenant}#${id}`);
    this.state.set(`${tenant}#${id}`, 'accepted');
  }
  async release(tenant: string, id: string) {
    this.log.push(`release ${tenant}#${id}`);
    if (this.state.get(`${tenant}#${id}`) === 'in_flight') this.state.delete(`${tenant}#${id}`);
  }
}

class Bus implements EventBus {
  readonly published: RelayEvent[] = [];
  fail = false;
  async publish(events: readonly RelayEvent[]) {
    if (this.fail) throw new Error('EventBridge is down');
    this.published.push(...events);
  }
}

const input = (id?: string) => ({ type: 'order.created', data: {}, ...(id ? { id } : {}) });

describe('ingest with the duplicate check', () => {
  it('publishes a new producer id once and marks it accepted only after it is on the bus', async () => {
    const ledger = new MemoryLedger();
    const bus = new Bus();
    const result = await ingest({ bus, clock: fixedClock(), ledger }, [input('o-1')], 'acme');
    expect(result).toMatchObject({ ids: ['o-1'], duplicates: 0 });
    expect(bus.published.map((e) => e.id)).toEqual(['o-1']);
    expect(ledger.log).toEqual(['claim acme#o-1', 'accept acme#o-1']);
  });

  it('frees the claims when the bus refuses, so the producer retry is published, not taken for a duplicate', async () => {
    const ledger = new MemoryLedger();
    const bus = new Bus();
    bus.fail = true;
    await expect(ingest({ bus, clock: fixedClock(), ledger }, [input('o-2')], 'acme')).rejects.toThrow(
      'EventBridge is down',
    );
    expect(ledger.log).toEqual(['claim acme#o-2', 'release acme#o-2']);
    bus.fail = false;
    const retry = await ingest({ bus, clock: fixedClock(), ledger }, [input('o-2')], 'acme');
    expect(retry.duplicates).toBe(0);
    expect(bus.published.map((e) => e.id)).toEqual(['o-2']);
  });

  it('waits for a request holding the same id and reports a duplicate once that one is accepted', async () => {
    const ledger = new MemoryLedger();
    ledger.state.set('acme#o-3', 'in_flight');
    setTimeout(() => ledger.state.set('acme#o-3', 'accepted'), 120);
    const bus = new Bus();
    const result = await ingest({ bus, clock: fixedClock(), ledger }, [input('o-3')], 'acme');
    expect(result).toMatchObject({ ids: ['o-3'], duplicates: 1, published: [] });
    expect(ledger.log.filter((l) => l === 'claim acme#o-3').length).toBeGreaterThan(1);
  });

  it('answers 409 when another request holds the id for longer than it waits', async () => {
    const ledger = new MemoryLedger();
    ledger.state.set('acme#o-4', 'in_flight');
    await expect(
      ingest({ bus: new Bus(), clock: fixedClock(), ledger }, [input('o-4')], 'acme'),
    ).rejects.toMatchObject({
      status: 409,
      code: 'event_in_flight',
    });
  }, 10_000);

  it('checks nothing for events without a producer id', async () => {
    const ledger = new MemoryLedger();
    const bus = new Bus();
    const result = await ingest({ bus, clock: fixedClock(), ledger }, [input(), input()], 'acme');
    expect(result.published).toHaveLength(2);
    expect(ledger.log).toEqual([]);
  });

  it('after a partial publish, confirms the ids that reached the bus and frees only the others', async () => {
    const ledger = new MemoryLedger();
    const published: string[] = [];
    let fail = true;
    const bus: EventBus = {
      async publish(events) {
        if (fail) {
          published.push(events[0]?.id ?? '');
          throw new PartialPublish('EventBridge refused 1 of 2', new Set([events[1]?.id ?? '']));
        }
        published.push(...events.map((e) => e.id));
      },
    };
    await expect(
      ingest({ bus, clock: fixedClock(), ledger }, [input('p-1'), input('p-2')], 'acme'),
    ).rejects.toThrow('refused 1 of 2');
    expect(ledger.state.get('acme#p-1')).toBe('accepted');
    expect(ledger.state.has('acme#p-2')).toBe(false);
    fail = false;
    const retry = await ingest({ bus, clock: fixedClock(), ledger }, [input('p-1'), input('p-2')], 'acme');
    expect(retry.duplicates).toBe(1);
    expect(published).toEqual(['p-1', 'p-2']);
  });

  it('gives back the ids it claimed when another id of the batch cannot be claimed', async () => {
    const ledger = new MemoryLedger();
    const claim = ledger.claim.bind(ledger);
    ledger.claim = async (tenant, id) => {
      if (id === 'bad') throw new Error('DynamoDB is throttling');
      return claim(tenant, id);
    };
    await expect(
      ingest({ bus: new Bus(), clock: fixedClock(), ledger }, [input('ok-1'), input('bad')], 'acme'),
    ).rejects.toThrow('throttling');
    expect(ledger.state.has('acme#ok-1')).toBe(false);
  });
});

describe('ingest with the event-type catalog', () => {
  const catalog = {
    validatorsFor: async () =>
      new Map([
        [
          'order.created',
          compileSchema({ type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } }),
        ],
      ]),
  };

  it('refuses non-conforming data before claiming an id or publishing anything', async () => {
    const ledger = new MemoryLedger();
    const bus = new Bus();
    const deps = { bus, clock: fixedClock(), ledger, catalog };
    const batch = [
      { ...input('o-1'), data: { amount: 1 } },
      { ...input('o-2'), data: { amount: 'x' } },
    ];
    await expect(ingest(deps, batch, 'acme', true)).rejects.toMatchObject({
      status: 400,
      details: [{ path: 'events.1.data.amount', message: 'must be a number' }],
    });
    await expect(ingest(deps, [{ ...input(), data: {} }], 'acme')).rejects.toMatchObject({
      details: [{ path: 'data.amount', message: 'is required' }],
    });
    expect(ledger.log).toEqual([]);
    expect(bus.published).toEqual([]);
  });

  it('names a batch of one by its index too', async () => {
    const deps = { bus: new Bus(), clock: fixedClock(), catalog };
    await expect(ingest(deps, [{ ...input(), data: {} }], 'acme', true)).rejects.toMatchObject({
      details: [{ path: 'events.0.data.amount', message: 'is required' }],
    });
  });

  it('accepts conforming data and types without a schema', async () => {
    const bus = new Bus();
    await ingest(
      { bus, clock: fixedClock(), catalog },
      [
        { ...input(), data: { amount: 1 } },
        { type: 'invoice.sent', data: { amount: 'free' } },
      ],
      'acme',
      true,
    );
    expect(bus.published.map((e) => e.type)).toEqual(['order.created', 'invoice.sent']);
  });
});

describe('generated event ids', () => {
  it('carry the instant the event was received, which is where the store keeps it', () => {
    const [event] = acceptEvents([{ type: 'order.created', data: {} }], 'acme', fixedClock());
    expect(receivedAtOfEventId(event?.id ?? '')).toBe(event?.receivedAt);
  });

  it('say nothing of ids the relay did not make', () => {
    for (const id of ['order-1', 'evt_', 'evt_short', `evt_${'U'.repeat(26)}`]) {
      expect(receivedAtOfEventId(id)).toBeUndefined();
    }
    expect(receivedAtOfEventId(newEventId(Date.parse('2026-12-03T06:00:00.123Z')))).toBe(
      '2026-12-03T06:00:00.123Z',
    );
  });
});

describe('ingest of data nested too deeply to serialize', () => {
  it('answers 400 naming the data, not a 500', async () => {
    let deep = '1';
    for (let i = 0; i < 20_000; i++) deep = `[${deep}]`;
    const data = JSON.parse(`{"x":${deep}}`);
    const bus: EventBus = { publish: async () => {} };
    await expect(ingest({ bus, clock: fixedClock() }, [{ type: 'a.b', data }], 'acme')).rejects.toMatchObject(
      {
        status: 400,
        details: [{ path: 'data', message: 'is nested too deeply' }],
      },
    );
  });
});

describe('ingest taking over an id another request gave up', () => {
  it('publishes the event with the receipt time that request recorded: the same event, not a second', async () => {
    const published: RelayEvent[] = [];
    const ledger: EventLedger = {
      claim: async () => ({ claimed: '2026-11-23T09:59:58.000Z' }),
      markAccepted: async () => {},
      release: async () => {},
    };
    const bus: EventBus = { publish: async (events) => void published.push(...events) };
    await ingest(
      { bus, clock: fixedClock(), ledger },
      [{ id: 'order-9', type: 'order.created', data: {} }],
      'acme',
    );
    expect(published.map((e) => e.receivedAt)).toEqual(['2026-11-23T09:59:58.000Z']);
  });
});
