import { DEFAULT_JITTER, DEFAULT_RETRY_SCHEDULE, parseSchedule, type RetryPolicy } from './delivery/retry.ts';
import { parseFrameAncestors } from './portal/frame-ancestors.ts';
import { type Cidr, parseCidrList, TargetPolicy } from './targets.ts';

/** Settings of the relay's core; the same names locally and on Lambda. */
export interface RelayConfig {
  retry: RetryPolicy;
  /** Per-attempt timeout (Svix uses 15 s). */
  attemptTimeoutMs: number;
  /** How much of a receiver's response body the delivery log keeps. */
  responseExcerptBytes: number;
  /** Events and delivery records expire (DynamoDB TTL) after this many days. */
  retentionDays: number;
  /** Switches the SSRF defence off (local mode's default, so a receiver on localhost works). */
  allowPrivateTargets: boolean;
  /** Exceptions to the SSRF defence's refused ranges. */
  allowedTargetCidrs: Cidr[];
  /** How long a rotated-out signing secret keeps signing (both signatures are sent). */
  secretGraceSeconds: number;
  /** CSP frame-ancestors of the portal (core/portal/frame-ancestors.ts); empty: not framable. */
  portalFrameAncestors: string[];
  /** A subscription without a single success for this long is disabled. */
  deadEndpointDays: number;
  /** The circuit breaker's first opening after a timeout, doubled per further timeout up to the max. */
  circuitBaseSeconds: number;
  circuitMaxSeconds: number;
  /**
   * Tasks the delivery fleet can attempt at once (invocations x batch size), when known. An
   * endpoint whose `maxInFlight` is at least this cannot exceed it, so its slots are not counted.
   */
  deliverySlots?: number;
}

/** The SSRF defence these settings describe. */
export function targetPolicy(config: Pick<RelayConfig, 'allowPrivateTargets' | 'allowedTargetCidrs'>) {
  return new TargetPolicy({
    allowPrivate: config.allowPrivateTargets,
    allowCidrs: config.allowedTargetCidrs,
  });
}

/** Reads the relay's settings from the environment, failing fast with the variable's name. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const number = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
    return n;
  };
  const schedule = env.RELAY_RETRY_SCHEDULE;
  let delays: number[];
  try {
    delays = schedule === undefined ? [...DEFAULT_RETRY_SCHEDULE] : parseSchedule(schedule);
  } catch (err) {
    throw new Error(`RELAY_RETRY_SCHEDULE: ${(err as Error).message}`);
  }
  const flag = (name: string, fallback: boolean) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw new Error(`${name} must be true or false, got "${raw}"`);
  };
  let allowedTargetCidrs: Cidr[];
  try {
    allowedTargetCidrs = parseCidrList(env.RELAY_ALLOWED_TARGET_CIDRS);
  } catch (err) {
    throw new Error(`RELAY_ALLOWED_TARGET_CIDRS: ${(err as Error).message}`);
  }
  let portalFrameAncestors: string[];
  try {
    portalFrameAncestors = parseFrameAncestors(env.RELAY_PORTAL_FRAME_ANCESTORS);
  } catch (err) {
    throw new Error(`RELAY_PORTAL_FRAME_ANCESTORS: ${(err as Error).message}`);
  }
  return {
    retry: { delays, jitter: number('RELAY_RETRY_JITTER', DEFAULT_JITTER, 0, 1) },
    portalFrameAncestors,
    // Secure unless told otherwise; `npm start` defaults it to true, Lambda forces it to false.
    allowPrivateTargets: flag('RELAY_ALLOW_PRIVATE_TARGETS', false),
    allowedTargetCidrs,
    secretGraceSeconds: number('RELAY_SECRET_GRACE_SECONDS', 86_400, 0, 7 * 86_400),
    deadEndpointDays: number('RELAY_DEAD_ENDPOINT_DAYS', 5, 0.00001, 365),
    circuitBaseSeconds: number('RELAY_CIRCUIT_BASE_SECONDS', 30, 0.1, 3600),
    circuitMaxSeconds: number('RELAY_CIRCUIT_MAX_SECONDS', 1800, 0.1, 6 * 3600),
    attemptTimeoutMs: number('RELAY_ATTEMPT_TIMEOUT_MS', 15_000, 1, 60_000),
    // 50 logged attempts must fit DynamoDB's 400 KB item: 4 KB of excerpt each at most.
    responseExcerptBytes: number('RELAY_RESPONSE_EXCERPT_BYTES', 1024, 0, 4096),
    retentionDays: number('RELAY_RETENTION_DAYS', 30, 1, 3650),
    ...(env.RELAY_DELIVERY_SLOTS ? { deliverySlots: number('RELAY_DELIVERY_SLOTS', 0, 1, 1_000_000) } : {}),
  };
}
