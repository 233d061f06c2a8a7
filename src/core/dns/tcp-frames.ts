/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766): every message is preceded by its length as
 * two bytes. `TcpFrames` cuts a byte stream into messages; a message longer than the limit is
 * skipped without buffering it, reporting just its id so the server can answer FORMERR.
 */

/** What the stream held next. */
export type TcpFrame =
  | { kind: 'message', bytes: Uint8Array }
  /** A message over the limit: its id, the rest discarded. */
  | { kind: 'oversized', id: number, length: number }

export class TcpFrames {
  private readonly maxMessageBytes: number
  private pending: Uint8Array = new Uint8Array(0)
  /** Bytes of an oversized message still to throw away. */
  private skipping = 0

  constructor (maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes
  }

  /** Bytes buffered towards the next message (bounded by the limit plus two). */
  get buffered (): number { return this.pending.byteLength }

  /** Feeds bytes from the socket; returns the messages they complete. */
  push (chunk: Uint8Array): TcpFrame[] {
    const out: TcpFrame[] = []
    let data = this.pending.byteLength === 0 ? chunk : concat(this.pending, chunk)
    this.pending = new Uint8Array(0)
    while (data.byteLength > 0) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, data.byteLength)
        this.skipping -= n
        data = data.subarray(n)
        continue
      }
      if (data.byteLength < 2) break
      const length = (data[0]! << 8) | data[1]!
      if (length > this.maxMessageBytes) {
        if (data.byteLength < 4) break // wait for the id
        out.push({ kind: 'oversized', id: (data[2]! << 8) | data[3]!, length })
        this.skipping = length
        data = data.subarray(2)
        continue
      }
      if (data.byteLength < 2 + length) break
      out.push({ kind: 'message', bytes: data.slice(2, 2 + length) })
      data = data.subarray(2 + length)
    }
    if (data.byteLength > 0) this.pending = data.slice()
    return out
  }
}

/** A message with its two-byte length prefix, ready for the socket. */
export function frame (message: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + message.byteLength)
  out[0] = message.byteLength >> 8
  out[1] = message.byteLength & 0xff
  out.set(message, 2)
  return out
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a)
  out.set(b, a.byteLength)
  return out
}
