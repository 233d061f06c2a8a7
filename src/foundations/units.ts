/** Byte sizes as people write them (`10GiB`, `512MiB`, `1.5GB`, `4096`) and back. */
import { MalformedMessageError } from './errors.ts'

const factors: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4
}

export function parseBytes (text: string, field = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  const factor = m === null ? undefined : factors[(m[2] ?? '').toLowerCase()]
  if (m === null || factor === undefined) throw new MalformedMessageError(`${field} "${text}" is not a size: write e.g. 10GiB, 512MiB or 4096`)
  const bytes = Math.floor(Number(m[1]) * factor)
  if (!Number.isSafeInteger(bytes)) throw new MalformedMessageError(`${field} "${text}" is too large`)
  return bytes
}

export function formatBytes (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = bytes
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}
