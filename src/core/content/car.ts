/**
 * CAR v1 files (Content Addressable aRchives): a varint-framed dag-cbor header
 * `{ version: 1, roots: [CID] }` (CIDs as CBOR tag 42), then one section per block:
 * varint(length) ‖ CID bytes ‖ block bytes. How DAGs are uploaded and exported in one file.
 */
import assert from 'node:assert/strict'
import * as cborg from 'cborg'
import { MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { blockMatches, CID, sha256Code } from './cid.ts'
import type { Block } from './cid.ts'
import { maxBlockBytes as defaultMaxBlockBytes, maxCarBytes as defaultMaxCarBytes, maxCarHeaderBytes, maxCarRoots } from './constants.ts'
import { BlockMismatchError, InvalidCarError } from './errors.ts'
import { encodeVarint, maxVarintBytes } from './varint.ts'

/** The CBOR tag of a CID in dag-cbor. */
const cidTag = 42
/** Bytes of the longest CID in a section (CIDv1 sha2-256 is 36); room for longer hashes. */
const maxSectionCidBytes = 128

/** Options of `readCar`. */
export interface ReadCarOptions {
  /** Largest block accepted (default `maxBlockBytes`). */
  maxBlockBytes?: number
  /** Largest whole CAR accepted (default `maxCarBytes`). */
  maxCarBytes?: number
}

/** Encodes the header `{ version: 1, roots }` with its varint length prefix. */
function carHeader (roots: CID[]): Uint8Array {
  const cidEncoder = (value: unknown): cborg.Token[] | null => {
    const cid = CID.asCID(value)
    if (cid === null) return null
    const bytes = new Uint8Array(cid.bytes.byteLength + 1) // dag-cbor prefixes CID bytes with 0x00
    bytes.set(cid.bytes, 1)
    return [new cborg.Token(cborg.Type.tag, cidTag), new cborg.Token(cborg.Type.bytes, bytes)]
  }
  const header = cborg.encode({ version: 1, roots }, { typeEncoders: { Object: cidEncoder } })
  return concat(encodeVarint(header.byteLength), header)
}

/** Streams a CAR v1 file of `roots` and `blocks`, in the order the blocks come. */
export async function * writeCar (roots: CID[], blocks: AsyncIterable<Block> | Iterable<Block>): AsyncIterable<Uint8Array> {
  yield carHeader(roots)
  for await (const { cid, bytes } of blocks) {
    yield concat(encodeVarint(cid.bytes.byteLength + bytes.byteLength), cid.bytes)
    if (bytes.byteLength > 0) yield bytes
  }
}

/**
 * Reads a whole CAR v1 file: its roots and its blocks (each once, in file order), every block
 * checked against its CID. Throws `InvalidCarError` for garbage, a truncated file, CAR v2 or
 * CIDv0; `BlockMismatchError` for a block that does not hash to its CID; `PayloadTooLargeError`
 * past the size limits.
 */
export async function readCar (source: Uint8Array | AsyncIterable<Uint8Array>, opts: ReadCarOptions = {}): Promise<{ roots: CID[], blocks: Block[] }> {
  const maxBlockBytes = opts.maxBlockBytes ?? defaultMaxBlockBytes
  const maxCarBytes = opts.maxCarBytes ?? defaultMaxCarBytes
  const reader = new CarReader(source instanceof Uint8Array ? [source] : source, maxCarBytes)

  const headerBytes = await reader.readVarint('the header length')
  if (headerBytes === undefined) throw new InvalidCarError('the CAR is empty')
  if (headerBytes === 0 || headerBytes > maxCarHeaderBytes) throw new InvalidCarError(`the CAR header claims ${headerBytes} bytes; a header is 1 to ${maxCarHeaderBytes}: this is not a CAR v1 file`)
  const roots = decodeHeader(await reader.read(headerBytes, 'the header'))

  const blocks: Block[] = []
  const seen = new Set<string>()
  for (;;) {
    const sectionBytes = await reader.readVarint('a section length')
    if (sectionBytes === undefined) break
    if (sectionBytes > maxBlockBytes + maxSectionCidBytes) throw new PayloadTooLargeError(`a CAR section of ${sectionBytes} bytes is over the ${maxBlockBytes}-byte block limit`)
    const section = await reader.read(sectionBytes, 'a block')
    let cid: CID
    let bytes: Uint8Array
    try {
      [cid, bytes] = CID.decodeFirst(section)
    } catch (err) {
      throw new InvalidCarError(`a CAR section does not start with a CID (${(err as Error).message})`)
    }
    if (cid.version !== 1) throw new InvalidCarError(`block ${cid} has a CIDv0: re-export the DAG with CIDv1`)
    if (cid.multihash.code !== sha256Code) throw new InvalidCarError(`block ${cid} uses hash 0x${cid.multihash.code.toString(16)}; only sha2-256 is accepted`)
    if (bytes.byteLength > maxBlockBytes) throw new PayloadTooLargeError(`block ${cid} is ${bytes.byteLength} bytes, over the ${maxBlockBytes}-byte limit`)
    if (!blockMatches(cid, bytes)) throw new BlockMismatchError(`block ${cid} in the CAR does not hash to its CID: the file is corrupt or tampered with`)
    const key = cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    blocks.push({ cid, bytes })
  }
  return { roots, blocks }
}

function decodeHeader (bytes: Uint8Array): CID[] {
  const tags: cborg.TagDecoder[] = []
  tags[cidTag] = (inner: unknown) => {
    if (!(inner instanceof Uint8Array) || inner[0] !== 0) throw new Error('a CID (tag 42) must be bytes starting with 0x00')
    return CID.decode(inner.subarray(1))
  }
  let header: unknown
  try {
    header = cborg.decode(bytes, { strict: true, rejectDuplicateMapKeys: true, useMaps: false, tags })
  } catch (err) {
    throw new InvalidCarError(`the CAR header is not valid dag-cbor: ${(err as Error).message}`)
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new InvalidCarError('the CAR header is not a map')
  const { version, roots } = header as Record<string, unknown>
  if (version === 2) throw new InvalidCarError('this is a CAR v2 file; only CAR v1 is read (convert it, e.g. `car debug` / `ipfs dag export`)')
  if (version !== 1) throw new InvalidCarError(`the CAR header has version ${String(version)}, not 1`)
  if (!Array.isArray(roots) || roots.length > maxCarRoots) throw new InvalidCarError(`the CAR header must list at most ${maxCarRoots} roots`)
  return roots.map(root => {
    const cid = CID.asCID(root)
    if (cid === null) throw new InvalidCarError('a root in the CAR header is not a CID')
    return cid
  })
}

/** Pulls exact byte counts out of a stream of chunks of any size. */
class CarReader {
  private readonly source: AsyncIterator<Uint8Array> | Iterator<Uint8Array>
  private readonly maxBytes: number
  private chunks: Uint8Array[] = []
  private available = 0
  private total = 0

  constructor (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number) {
    this.source = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
    this.maxBytes = maxBytes
  }

  /** Buffers at least `n` bytes; false if the stream ends first. */
  private async fill (n: number): Promise<boolean> {
    while (this.available < n) {
      const next = await this.source.next()
      if (next.done === true) return false
      const chunk = next.value
      if (!(chunk instanceof Uint8Array)) throw new MalformedMessageError('CAR input must be Uint8Array chunks')
      this.total += chunk.byteLength
      if (this.total > this.maxBytes) throw new PayloadTooLargeError(`the CAR is over ${this.maxBytes} bytes: import the content in smaller parts`)
      if (chunk.byteLength > 0) this.chunks.push(chunk)
      this.available += chunk.byteLength
    }
    return true
  }

  /** Reads exactly `n` bytes, or throws `InvalidCarError` naming `what` was cut short. */
  async read (n: number, what: string): Promise<Uint8Array> {
    if (!await this.fill(n)) throw new InvalidCarError(`the CAR is truncated: it ends inside ${what}`)
    const first = this.chunks[0]
    let out: Uint8Array
    if (first !== undefined && first.byteLength >= n) {
      out = first.subarray(0, n)
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
    } else {
      out = new Uint8Array(n)
      let filled = 0
      while (filled < n) {
        const chunk = this.chunks[0] as Uint8Array
        const take = Math.min(chunk.byteLength, n - filled)
        out.set(chunk.subarray(0, take), filled)
        filled += take
        if (take === chunk.byteLength) this.chunks.shift()
        else this.chunks[0] = chunk.subarray(take)
      }
    }
    this.available -= n
    return out
  }

  /** Reads one varint; `undefined` at a clean end of the stream. */
  async readVarint (what: string): Promise<number | undefined> {
    if (!await this.fill(1)) return undefined
    let value = 0
    for (let i = 0; i < maxVarintBytes; i++) {
      const byte = (await this.read(1, what))[0]
      assert.ok(byte !== undefined)
      value += (byte & 0x7f) * 2 ** (7 * i)
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw new InvalidCarError(`${what} is not a minimal varint`)
        return value
      }
    }
    throw new InvalidCarError(`${what} is a varint longer than ${maxVarintBytes} bytes: this is not a CAR v1 file`)
  }
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a, 0)
  out.set(b, a.byteLength)
  return out
}
