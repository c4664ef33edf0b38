import { MAX_DELAY_SECONDS } from './scheduling.ts';

/**
 * When to try again. The schedule lists the delays (seconds) between attempts: n delays give
 * n + 1 attempts per round. Jitter spreads retries of many deliveries that failed together so they
 * do not hit a recovering receiver at the same instant.
 */
export interface RetryPolicy {
  /** Seconds to wait after attempt 1, 2, ... of a round. */
  readonly delays: readonly number[];
  /** Fraction of each delay to randomise, +/- (0.2 = +/-20%, as Svix). */
  readonly jitter: number;
}

/** 8 attempts over ~27 h: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix's schedule). */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000] as const;
export const DEFAULT_JITTER = 0.2;

/** Parses `5,300,1800` into delays; throws a message naming the bad entry. */
export function parseSchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map((p, i) => {
    const n = Number(p);
    if (p === '' || !Number.isFinite(n) || n < 0 || n > MAX_DELAY_SECONDS) {
      throw new Error(
        `retry schedule entry ${i + 1} ("${p}") must be seconds between 0 and ${MAX_DELAY_SECONDS}`,
      );
    }
    return n;
  });
}

export function attemptsPerRound(policy: RetryPolicy): number {
  return policy.delays.length + 1;
}

/**
 * The delay before the next attempt after `attempt` (1-based, within the round) failed, or
 * `undefined` when the round is exhausted and the delivery belongs in the DLQ.
 * @param random a number in [0, 1), injectable for tests.
 */
export function nextDelaySeconds(
  policy: RetryPolicy,
  attempt: number,
  random: number = Math.random(),
): number | undefined {
  const base = policy.delays[attempt - 1];
  if (base === undefined) return undefined;
  const spread = base * policy.jitter * (random * 2 - 1);
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, base + spread));
}

/**
 * A receiver's `Retry-After` (delta-seconds or an HTTP date), in seconds from `now`, bounded by
 * {@link MAX_DELAY_SECONDS} so no receiver can park a delivery beyond what the queue can hold.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  let seconds: number;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    seconds = Math.ceil((at - now.getTime()) / 1000);
  }
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, seconds));
}
