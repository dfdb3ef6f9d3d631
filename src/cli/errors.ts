/** Bad usage: printed without a stack and mapped to exit code 2, like an invalid config. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
