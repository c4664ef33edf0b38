import { expect } from 'vitest';

/** The paths and messages of a parse that must fail, for readable expectations. */
export function issuesOf(
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: unknown[] } } },
  v: unknown,
) {
  const result = schema.safeParse(v);
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []) as Array<{ path: PropertyKey[]; message: string; code: string }>;
}
