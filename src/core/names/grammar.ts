import { domainToASCII } from 'node:url'
import { InvalidNameError } from '../../foundations/errors.ts'
import { maxLabelChars, maxNameChars, maxSubNameDepth } from '../../foundations/limits.ts'

/** The top-level domain of every Keynet name. */
export const tld = 'key'

const labelPattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/

/** A name in canonical form plus its structure. */
export interface ParsedName {
  /** Canonical ASCII form, e.g. `blog.mysite.key`. */
  name: string
  /** Labels left of `.key`, most specific first: `['blog', 'mysite']`. */
  labels: string[]
  /** The registrable second-level name (`mysite.key`). */
  root: string
  /** The parent name for a sub-name, undefined for a root name. */
  parent: string | undefined
}

/**
 * Maps any user input to the one canonical name or throws `InvalidNameError`: Unicode is
 * normalised by UTS-46 (IDNA) to its ASCII (punycode) form, so the same input always maps to
 * the same name; then every label must be `a-z 0-9 -`, 1–63 characters, with no leading or
 * trailing hyphen, and the whole name at most 253 characters.
 */
export function parseName (input: string): ParsedName {
  if (typeof input !== 'string' || input.length === 0) throw new InvalidNameError('a name is required, e.g. mysite.key')
  if (input.length > maxNameChars * 4) throw new InvalidNameError(`name is longer than ${maxNameChars} characters`)
  const trimmed = input.endsWith('.') ? input.slice(0, -1) : input
  // domainToASCII applies UTS-46 mapping and punycode; it returns '' for inputs IDNA rejects.
  const ascii = /^[\x21-\x7e]*$/.test(trimmed) ? trimmed.toLowerCase() : domainToASCII(trimmed)
  if (ascii === '') throw new InvalidNameError(`"${input}" is not a valid internationalised name`)
  if (ascii.length > maxNameChars) throw new InvalidNameError(`name is longer than ${maxNameChars} characters`)
  const parts = ascii.split('.')
  if (parts.length < 2 || parts[parts.length - 1] !== tld) throw new InvalidNameError(`"${input}" is not a .${tld} name (e.g. mysite.${tld})`)
  const labels = parts.slice(0, -1)
  if (labels.length - 1 > maxSubNameDepth) throw new InvalidNameError(`sub-names go at most ${maxSubNameDepth} levels deep`)
  for (const label of labels) checkLabel(label, input)
  const root = `${labels[labels.length - 1]}.${tld}`
  return { name: ascii, labels, root, parent: labels.length > 1 ? parts.slice(1).join('.') : undefined }
}

function checkLabel (label: string, input: string): void {
  if (label.length === 0) throw new InvalidNameError(`"${input}" has an empty label`)
  if (label.length > maxLabelChars) throw new InvalidNameError(`label "${label.slice(0, 20)}…" is longer than ${maxLabelChars} characters`)
  if (!labelPattern.test(label)) {
    throw new InvalidNameError(`label "${label}" may hold only a-z, 0-9 and inner hyphens`)
  }
  if (label.startsWith('xn--') && domainToASCII(`${label}.${tld}`) !== `${label}.${tld}`) {
    throw new InvalidNameError(`label "${label}" is not valid punycode`)
  }
}

/** Canonical form of a name, or throws `InvalidNameError`. */
export function canonicalName (input: string): string {
  return parseName(input).name
}
