import { afterEach, describe, expect, it, vi } from 'vitest';
import { WriteCoalescer } from '../../../functions/adapters/coalescer.ts';

describe('WriteCoalescer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes items handed in within the window together, and settles every caller after the write', async () => {
    vi.useFakeTimers();
    const writes: number[][] = [];
    const c = new WriteCoalescer<number>(async (items) => {
      writes.push(items);
    }, 3);
    const settled: number[] = [];
    const a = c.add([1]).then(() => settled.push(1));
    await vi.advanceTimersByTimeAsync(1);
    const b = c.add([2, 3]).then(() => settled.push(2));
    expect(writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(3);
    await Promise.all([a, b]);
    expect(writes).toEqual([[1, 2, 3]]);
    expect(settled.sort()).toEqual([1, 2]);
  });

  it('writes at once when a full batch is waiting', async () => {
    const writes: number[][] = [];
    const c = new WriteCoalescer<number>(
      async (items) => {
        writes.push(items);
      },
      10_000,
      3,
    );
    await Promise.all([c.add([1, 2]), c.add([3])]);
    expect(writes).toEqual([[1, 2, 3]]);
  });

  it('rejects every caller of a failed write, so none acknowledges an unstored item', async () => {
    const c = new WriteCoalescer<number>(async () => {
      throw new Error('throttled');
    }, 1);
    const results = await Promise.allSettled([c.add([1]), c.add([2])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('starts a fresh batch after a flush', async () => {
    const writes: number[][] = [];
    const c = new WriteCoalescer<number>(async (items) => {
      writes.push(items);
    }, 1);
    await c.add([1]);
    await c.add([2]);
    expect(writes).toEqual([[1], [2]]);
  });
});
