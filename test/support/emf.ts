/**
 * Captures the CloudWatch EMF documents Powertools Metrics writes to stdout (one JSON line per
 * flush, `{"_aws": ...}`), so tests of the Lambda entry modules can check their metrics instead
 * of printing them between the test results. Every other write passes through untouched.
 */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Metrics: Array<{ Name: string }> }>;
  };
  [metric: string]: unknown;
}

export function captureEmf() {
  const documents: EmfDocument[] = [];
  const stdout = process.stdout;
  const original = stdout.write;
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text =
      typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
    if (text?.startsWith('{"_aws":')) {
      for (const line of text.split('\n')) if (line.trim()) documents.push(JSON.parse(line) as EmfDocument);
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }
    return (original as (...args: unknown[]) => boolean).call(stdout, chunk, ...rest);
  };
  stdout.write = write as typeof stdout.write;
  return {
    documents,
    /** Every value recorded under this metric name, in order (a document holds one or a list). */
    values(name: string): number[] {
      return documents.flatMap((d) => {
        const v = d[name];
        return v === undefined ? [] : Array.isArray(v) ? (v as number[]) : [v as number];
      });
    },
    clear() {
      documents.length = 0;
    },
    restore() {
      stdout.write = original;
    },
  };
}
