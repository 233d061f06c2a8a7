import { InvalidTransactionError } from '../foundations/errors.ts'

/** A command-line count: a positive whole number, else a clear error naming the flag. */
export function positive (s: string, flag: string): number {
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidTransactionError(`${flag} must be a positive whole number, got "${s}"`)
  return n
}
