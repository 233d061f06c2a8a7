/**
 * Names and paths inside a UnixFS tree: one rule for what a directory entry may be called, used
 * when importing (a bad name is refused) and when resolving (a bad path is refused, not searched).
 */
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxNameBytes, maxPathChars, maxPathSegments } from './constants.ts'

/** Throws `MalformedMessageError` unless `name` can be one directory entry's name. */
export function checkEntryName (name: string): void {
  if (typeof name !== 'string' || name === '') throw new MalformedMessageError('an entry name must be a non-empty string')
  if (name === '.' || name === '..') throw new MalformedMessageError(`"${name}" cannot be an entry name`)
  if (name.includes('/')) throw new MalformedMessageError(`entry name "${name}" contains "/": give nested entries as separate path segments`)
  if (name.includes('\0')) throw new MalformedMessageError(`entry name ${JSON.stringify(name)} contains a NUL character`)
  if (/\p{Cs}/u.test(name)) throw new MalformedMessageError(`entry name ${JSON.stringify(name)} is not valid Unicode (lone surrogate)`)
  if (Buffer.byteLength(name, 'utf8') > maxNameBytes) throw new MalformedMessageError(`entry name "${name.slice(0, 32)}…" is longer than ${maxNameBytes} bytes`)
}

/**
 * Splits a relative file path of an import (`css/site.css`) into checked segments. Empty, `.`
 * and `..` segments are refused, so one file has exactly one spelling.
 */
export function importPathSegments (path: string): string[] {
  if (typeof path !== 'string' || path.length > maxPathChars) throw new MalformedMessageError(`a path must be a string of at most ${maxPathChars} characters`)
  const segments = path.split('/')
  if (segments.length > maxPathSegments) throw new MalformedMessageError(`path "${path.slice(0, 64)}…" has more than ${maxPathSegments} segments`)
  for (const s of segments) {
    if (s === '') throw new MalformedMessageError(`path "${path}" has an empty segment: no leading, trailing or doubled "/"`)
    checkEntryName(s)
  }
  return segments
}

/**
 * Splits a path to resolve inside a DAG (`/docs/index.html`). Leading, trailing and doubled
 * slashes are ignored (`''` and `'/'` are the root); `.` and `..` are refused.
 */
export function resolvePathSegments (path: string): string[] {
  if (typeof path !== 'string' || path.length > maxPathChars) throw new MalformedMessageError(`a path must be a string of at most ${maxPathChars} characters`)
  const segments = path.split('/').filter(s => s !== '')
  if (segments.length > maxPathSegments) throw new MalformedMessageError(`path "${path.slice(0, 64)}…" has more than ${maxPathSegments} segments`)
  for (const s of segments) checkEntryName(s)
  return segments
}
