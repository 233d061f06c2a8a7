import { MalformedMessageError } from './errors.ts'

/**
 * Checks on decoded wire data: each returns the value typed, or throws MalformedMessageError
 * naming the field, so a malformed message is rejected with a reason and never half-applied.
 */
export function record (v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw bad(field, 'a map')
  return v as Record<string, unknown>
}

export function bytes (v: unknown, field: string, length?: number, maxLength = 1 << 24): Uint8Array {
  if (!(v instanceof Uint8Array)) throw bad(field, 'bytes')
  if (length !== undefined && v.byteLength !== length) throw bad(field, `${length} bytes`)
  if (v.byteLength > maxLength) throw bad(field, `at most ${maxLength} bytes`)
  return v
}

export function uint (v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(field, 'a non-negative integer')
  return v
}

export function str (v: unknown, field: string, maxLength: number): string {
  if (typeof v !== 'string') throw bad(field, 'a string')
  if (v.length > maxLength) throw bad(field, `at most ${maxLength} characters`)
  return v
}

export function list (v: unknown, field: string, maxLength: number): unknown[] {
  if (!Array.isArray(v)) throw bad(field, 'a list')
  if (v.length > maxLength) throw bad(field, `at most ${maxLength} items`)
  return v
}

export function optional<T> (v: unknown, check: (v: unknown) => T): T | undefined {
  return v === undefined || v === null ? undefined : check(v)
}

/** Rejects keys other than the allowed ones (no smuggled fields in signed data). */
export function onlyKeys (v: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw new MalformedMessageError(`${field}: unexpected field "${k}"`)
}

function bad (field: string, what: string): MalformedMessageError {
  return new MalformedMessageError(`${field} must be ${what}`)
}
