/**
 * Group commit: items handed in within a short window (a few ms) are written together, and a
 * full batch (25, BatchWriteItem's limit) is written at once.
 *
 * The records of a queue batch finish their HTTP attempts within a few milliseconds of each
 * other, each in its own turn of the event loop; writing each delivery record alone costs a
 * DynamoDB request apiece, while one BatchWriteItem carries 25. Every caller's promise settles
 * with the write that carried its items, so nothing is acknowledged before it is stored.
 */
export class WriteCoalescer<T> {
  private pending: Array<{ items: readonly T[]; resolve: () => void; reject: (err: unknown) => void }> = [];
  private pendingItems = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param write stores the items (the caller splits into requests)
   * @param windowMs how long the first item of a batch waits for company
   * @param maxItems flush at once when this many items wait
   */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly windowMs = 3,
    private readonly maxItems = 25,
  ) {}

  add(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      this.pendingItems += items.length;
      if (this.pendingItems >= this.maxItems) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.windowMs);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.pendingItems = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      await this.write(batch.flatMap((b) => b.items));
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}
