/**
 * Reading the WebAssembly binary format (core specification 2.0, chapter 5): LEB128 integers,
 * names, limits and the section list. Every read is bounds-checked and a malformed module raises
 * `InvalidModuleError` naming what was wrong.
 */
import { InvalidModuleError } from './errors.ts'

/** The first eight bytes of every module: `\0asm` and version 1. */
export const wasmHeader = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)

/** Section ids, in the order a module lists them (custom sections may stand anywhere). */
export const sectionId = {
  custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, global: 6, export: 7,
  start: 8, element: 9, code: 10, data: 11, dataCount: 12, tag: 13
} as const

/** Where each known section must come; a module with sections out of this order is invalid. */
export const sectionOrder: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }

/** One section: its id and its content's place in the module. */
export interface Section { id: number, start: number, end: number }

/** A cursor over a module's bytes. */
export class WasmReader {
  offset: number
  readonly bytes: Uint8Array
  readonly end: number

  constructor (bytes: Uint8Array, offset = 0, end = bytes.byteLength) {
    this.bytes = bytes
    this.offset = offset
    this.end = end
  }

  get done (): boolean { return this.offset >= this.end }

  byte (): number {
    if (this.offset >= this.end) throw new InvalidModuleError(`the module ends early (at byte ${this.offset})`)
    return this.bytes[this.offset++] as number
  }

  skip (n: number): void {
    if (n < 0 || this.offset + n > this.end) throw new InvalidModuleError(`the module ends early (at byte ${this.offset})`)
    this.offset += n
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32 (): number {
    let result = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) throw new InvalidModuleError(`an integer at byte ${this.offset} is over 32 bits`)
        return result
      }
    }
    throw new InvalidModuleError(`an integer at byte ${this.offset} is longer than 5 bytes`)
  }

  /** A signed LEB128 of at most `bits` bits, as a bigint (i64 constants need all 64). */
  signed (bits: number): bigint {
    let result = 0n
    let shift = 0n
    const maxBytes = Math.ceil(bits / 7)
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte()
      result |= BigInt(b & 0x7f) << shift
      shift += 7n
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) result -= 1n << shift
        return result
      }
    }
    throw new InvalidModuleError(`a signed integer at byte ${this.offset} is longer than ${maxBytes} bytes`)
  }

  /** Skips a signed LEB128 without decoding it. */
  skipSigned (bits: number): void {
    const maxBytes = Math.ceil(bits / 7)
    for (let i = 0; i < maxBytes; i++) if ((this.byte() & 0x80) === 0) return
    throw new InvalidModuleError(`a signed integer at byte ${this.offset} is longer than ${maxBytes} bytes`)
  }

  name (): string {
    const length = this.u32()
    const start = this.offset
    this.skip(length)
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(start, this.offset))
    } catch {
      throw new InvalidModuleError(`a name at byte ${start} is not UTF-8`)
    }
  }

  /** Limits of a table or memory: `{ min, max?, flags }`. */
  limits (): Limits {
    const flags = this.byte()
    if (flags > 0x07) throw new InvalidModuleError(`limits at byte ${this.offset - 1} have unknown flags 0x${flags.toString(16)}`)
    const is64 = (flags & 0x04) !== 0
    const min = is64 ? Number(this.signed(70)) : this.u32()
    const max = (flags & 0x01) !== 0 ? (is64 ? Number(this.signed(70)) : this.u32()) : undefined
    return { min, max, shared: (flags & 0x02) !== 0, is64 }
  }
}

/** Limits of a memory (in pages) or a table (in entries). */
export interface Limits { min: number, max: number | undefined, shared: boolean, is64: boolean }

/** Checks the header and lists the sections with their places. */
export function readSections (bytes: Uint8Array): Section[] {
  if (bytes.byteLength < wasmHeader.byteLength || !wasmHeader.every((b, i) => bytes[i] === b)) {
    throw new InvalidModuleError('not a WebAssembly module: it must start with \\0asm and version 1')
  }
  const reader = new WasmReader(bytes, wasmHeader.byteLength)
  const sections: Section[] = []
  let lastOrder = 0
  while (!reader.done) {
    const id = reader.byte()
    const size = reader.u32()
    const start = reader.offset
    reader.skip(size)
    if (id !== sectionId.custom) {
      const order = sectionOrder[id]
      if (order === undefined) throw new InvalidModuleError(`unknown section id ${id} at byte ${start}`)
      if (order <= lastOrder) throw new InvalidModuleError(`section ${id} at byte ${start} is out of order or repeated`)
      lastOrder = order
    }
    sections.push({ id, start, end: reader.offset })
  }
  return sections
}

/** Unsigned LEB128 encoding of `value` (< 2³²). */
export function encodeU32 (value: number): number[] {
  const out: number[] = []
  let v = value
  do {
    let b = v & 0x7f
    v = Math.floor(v / 128)
    if (v !== 0) b |= 0x80
    out.push(b)
  } while (v !== 0)
  return out
}

/** Signed LEB128 encoding of `value`. */
export function encodeSigned (value: bigint): number[] {
  const out: number[] = []
  let v = value
  for (;;) {
    const b = Number(v & 0x7fn)
    v >>= 7n
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

/** A name as the binary format writes it: length, then UTF-8. */
export function encodeName (name: string): number[] {
  const bytes = new TextEncoder().encode(name)
  return [...encodeU32(bytes.byteLength), ...bytes]
}
