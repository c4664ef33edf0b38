import { Duration } from 'aws-cdk-lib';
import { parseSchedule } from '../functions/core/delivery/retry.ts';
import { parseFrameAncestors } from '../functions/core/portal/frame-ancestors.ts';
import { parseCidrList } from '../functions/core/targets.ts';
import type { RelayStackProps } from './relay-stack.ts';

/** Reads one context value (`-c key=value` arrives as a string; cdk.json may hold a number). */
export type ContextReader = (key: string) => unknown;

/**
 * The stack's settings from CDK context, checked here so a typo fails the synth with the key's
 * name instead of deploying NaN:
 *   -c stage=relay  -c retrySchedule=5,300,1800  -c deliveryConcurrency=20  -c orderedConcurrency=20
 *   -c batchingWindowSeconds=1
 *   -c alarmEmail=ops@example.com  -c fanoutQueueAgeAlarmSeconds=300
 *   -c deliveryQueueAgeAlarmSeconds=1200  -c failureRateAlarmPercent=25
 *   -c allowedTargetCidrs=10.20.0.0/16,fd00:1::/32
 *   -c portalFrameAncestors=https://dash.example.com
 */
export function stackPropsFromContext(ctx: ContextReader): RelayStackProps & { stageName: string } {
  const text = (key: string): string | undefined => {
    const raw = ctx(key);
    if (raw === undefined || raw === null || raw === '') return undefined;
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      throw new Error(`Context "${key}" must be a string, got ${JSON.stringify(raw)}`);
    }
    return String(raw).trim();
  };
  const number = (key: string, min: number, max: number, what: string): number | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new Error(`Context "${key}" must be ${what} from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const seconds = (key: string): Duration | undefined => {
    const n = number(key, 60, 14 * 24 * 3600, 'whole seconds');
    if (n !== undefined && !Number.isInteger(n)) {
      throw new Error(`Context "${key}" must be whole seconds, got "${n}"`);
    }
    return n === undefined ? undefined : Duration.seconds(n);
  };

  const stageName = text('stage') ?? 'relay';
  if (!/^[A-Za-z0-9-]{1,40}$/.test(stageName)) {
    throw new Error(`Context "stage" must be 1-40 letters, digits or dashes, got "${stageName}"`);
  }
  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new Error(`Context "alarmEmail" must be an e-mail address, got "${alarmEmail}"`);
  }
  const retrySchedule = text('retrySchedule');
  if (retrySchedule !== undefined) {
    try {
      parseSchedule(retrySchedule);
    } catch (err) {
      throw new Error(`Context "retrySchedule": ${(err as Error).message}`);
    }
  }
  const deliveryConcurrency = number('deliveryConcurrency', 2, 1000, 'a whole number');
  if (deliveryConcurrency !== undefined && !Number.isInteger(deliveryConcurrency)) {
    throw new Error(`Context "deliveryConcurrency" must be a whole number, got "${deliveryConcurrency}"`);
  }
  const orderedConcurrency = number('orderedConcurrency', 2, 1000, 'a whole number');
  if (orderedConcurrency !== undefined && !Number.isInteger(orderedConcurrency)) {
    throw new Error(`Context "orderedConcurrency" must be a whole number, got "${orderedConcurrency}"`);
  }
  const batchingWindowSeconds = number('batchingWindowSeconds', 0, 300, 'whole seconds');
  if (batchingWindowSeconds !== undefined && !Number.isInteger(batchingWindowSeconds)) {
    throw new Error(`Context "batchingWindowSeconds" must be whole seconds, got "${batchingWindowSeconds}"`);
  }
  const fanoutQueueAgeAlarm = seconds('fanoutQueueAgeAlarmSeconds');
  const deliveryQueueAgeAlarm = seconds('deliveryQueueAgeAlarmSeconds');
  const failureRateAlarmPercent = number('failureRateAlarmPercent', 1, 99, 'a percentage');
  const allowedTargetCidrs = text('allowedTargetCidrs');
  if (allowedTargetCidrs !== undefined) {
    try {
      parseCidrList(allowedTargetCidrs);
    } catch (err) {
      throw new Error(`Context "allowedTargetCidrs": ${(err as Error).message}`);
    }
  }

  const portalFrameAncestors = text('portalFrameAncestors');
  if (portalFrameAncestors !== undefined) {
    try {
      parseFrameAncestors(portalFrameAncestors);
    } catch (err) {
      throw new Error(`Context "portalFrameAncestors": ${(err as Error).message}`);
    }
  }
  return {
    stageName,
    ...(retrySchedule !== undefined ? { retrySchedule } : {}),
    ...(deliveryConcurrency !== undefined ? { deliveryConcurrency } : {}),
    ...(orderedConcurrency !== undefined ? { orderedConcurrency } : {}),
    ...(batchingWindowSeconds !== undefined ? { batchingWindowSeconds } : {}),
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    ...(fanoutQueueAgeAlarm ? { fanoutQueueAgeAlarm } : {}),
    ...(deliveryQueueAgeAlarm ? { deliveryQueueAgeAlarm } : {}),
    ...(failureRateAlarmPercent !== undefined ? { failureRateAlarmPercent } : {}),
    ...(allowedTargetCidrs !== undefined ? { allowedTargetCidrs } : {}),
    ...(portalFrameAncestors !== undefined ? { portalFrameAncestors } : {}),
  };
}
