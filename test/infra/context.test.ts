import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.ts';

const from = (context: Record<string, unknown>) => stackPropsFromContext((key) => context[key]);

describe('stackPropsFromContext', () => {
  it('defaults to stage relay and leaves every other setting to the stack', () => {
    expect(from({})).toEqual({ stageName: 'relay' });
  });

  it('reads every setting from -c strings', () => {
    const props = from({
      stage: 'staging',
      retrySchedule: '10,60',
      deliveryConcurrency: '50',
      orderedConcurrency: '40',
      batchingWindowSeconds: '0',
      alarmEmail: 'ops@example.com',
      fanoutQueueAgeAlarmSeconds: '120',
      deliveryQueueAgeAlarmSeconds: '1800',
      failureRateAlarmPercent: '10',
      allowedTargetCidrs: '10.20.0.0/16,fd00:1::/32',
      portalFrameAncestors: 'https://dash.example.com',
    });
    expect(props).toMatchObject({
      allowedTargetCidrs: '10.20.0.0/16,fd00:1::/32',
      portalFrameAncestors: 'https://dash.example.com',
      stageName: 'staging',
      retrySchedule: '10,60',
      deliveryConcurrency: 50,
      orderedConcurrency: 40,
      batchingWindowSeconds: 0,
      alarmEmail: 'ops@example.com',
      failureRateAlarmPercent: 10,
    });
    expect(props.fanoutQueueAgeAlarm?.toSeconds()).toBe(120);
    expect(props.deliveryQueueAgeAlarm?.toSeconds()).toBe(1800);
  });

  it('accepts numbers as cdk.json holds them', () => {
    const props = from({ failureRateAlarmPercent: 30, deliveryQueueAgeAlarmSeconds: 600 });
    expect(props.failureRateAlarmPercent).toBe(30);
    expect(props.deliveryQueueAgeAlarm?.toSeconds()).toBe(600);
  });

  it.each([
    ['fanoutQueueAgeAlarmSeconds', 'five'],
    ['fanoutQueueAgeAlarmSeconds', '30'],
    ['deliveryQueueAgeAlarmSeconds', '90.5'],
    ['failureRateAlarmPercent', '150'],
    ['failureRateAlarmPercent', '0'],
    ['deliveryConcurrency', '1.5'],
    ['deliveryConcurrency', '1'],
    ['orderedConcurrency', '2.5'],
    ['orderedConcurrency', '0'],
    ['batchingWindowSeconds', '301'],
    ['batchingWindowSeconds', '-1'],
    ['batchingWindowSeconds', '1.5'],
    ['batchingWindowSeconds', 'abc'],
    ['alarmEmail', 'ops'],
    ['stage', 'my stage'],
    ['retrySchedule', '5,x'],
    ['allowedTargetCidrs', '10.0.0.0/8,10.0.0.1/40'],
    ['portalFrameAncestors', 'http://dash.example.com'],
  ])('refuses %s=%s with an error naming the context key', (key, value) => {
    expect(() => from({ [key]: value })).toThrow(`Context "${key}"`);
  });

  it.each([
    ['301', 'must be whole seconds from 0 to 300, got "301"'],
    ['-1', 'must be whole seconds from 0 to 300, got "-1"'],
    ['abc', 'must be whole seconds from 0 to 300, got "abc"'],
    ['1.5', 'must be whole seconds, got "1.5"'],
  ])('refuses batchingWindowSeconds=%s: the Lambda range, whole seconds', (value, message) => {
    expect(() => from({ batchingWindowSeconds: value })).toThrow(
      `Context "batchingWindowSeconds" ${message}`,
    );
  });
});
