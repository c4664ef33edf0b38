import { describe, expect, it } from 'vitest';
import { EVENT_FILTER_PATTERN, matchesAny, matchesEventType } from '../../../functions/core/matching.ts';

describe('matchesEventType', () => {
  it('matches an exact type and nothing else', () => {
    expect(matchesEventType('shipment.delivered', 'shipment.delivered')).toBe(true);
    expect(matchesEventType('shipment.delivered', 'shipment.delivered.late')).toBe(false);
    expect(matchesEventType('shipment.delivered', 'shipment')).toBe(false);
    expect(matchesEventType('shipment.delivered', 'Shipment.Delivered')).toBe(false);
  });

  it('matches every type below a prefix wildcard', () => {
    expect(matchesEventType('shipment.*', 'shipment.delivered')).toBe(true);
    expect(matchesEventType('shipment.*', 'shipment.a.b')).toBe(true);
  });

  it('does not match the bare prefix of a wildcard', () => {
    expect(matchesEventType('shipment.*', 'shipment')).toBe(false);
  });

  it('does not match a type that merely starts with the same letters', () => {
    expect(matchesEventType('shipment.*', 'shipments.x')).toBe(false);
    expect(matchesEventType('shipment.*', 'shipmentdelivered')).toBe(false);
  });

  it('matches a nested prefix wildcard only below that prefix', () => {
    expect(matchesEventType('shipment.label.*', 'shipment.label.printed')).toBe(true);
    expect(matchesEventType('shipment.label.*', 'shipment.delivered')).toBe(false);
  });

  it('matches everything with *', () => {
    for (const type of ['a', 'shipment.delivered', 'x.y.z', 'webhook.test']) {
      expect(matchesEventType('*', type)).toBe(true);
    }
  });
});

describe('matchesAny', () => {
  it('matches when any filter matches', () => {
    expect(matchesAny(['order.created', 'shipment.*'], 'shipment.delivered')).toBe(true);
    expect(matchesAny(['order.created', 'shipment.*'], 'order.created')).toBe(true);
  });

  it('matches nothing with no filters or no matching filter', () => {
    expect(matchesAny([], 'order.created')).toBe(false);
    expect(matchesAny(['order.created', 'shipment.*'], 'invoice.paid')).toBe(false);
  });
});

describe('EVENT_FILTER_PATTERN', () => {
  it.each(['*', 'order', 'order.created', 'order.*', 'a.b.c.*', 'Order_2.created_v1'])(
    'accepts %j',
    (filter) => {
      expect(EVENT_FILTER_PATTERN.test(filter)).toBe(true);
    },
  );

  it.each([
    '',
    '**',
    '*.created',
    'order.*.created',
    'order*',
    'order.',
    '.order',
    'order..created',
    'order.created*',
    'order-created',
    'order created',
    'order.**',
  ])('rejects %j', (filter) => {
    expect(EVENT_FILTER_PATTERN.test(filter)).toBe(false);
  });
});
