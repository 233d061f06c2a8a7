/**
 * Sending a streamed body with backpressure: chunks are pulled one at a time and the next is
 * only pulled once the socket has taken the last (`drain`), so a file is never held in memory
 * whole. The first chunk is pulled before the status line is written, so content that is
 * unavailable from the start still gets a proper error status. A failure after that point
 * destroys the socket: the client sees a cut connection (and a short body against its
 * Content-Length or an unterminated chunked body), never partial bytes passed off as complete.
 */
import { once } from 'node:events'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { abortable, type Watchdog } from './cancellation.ts'

/** How a body is sent. */
export interface StreamOptions {
  /** Exact body length when known (it is then sent as Content-Length and checked). */
  expectedBytes?: number
  /** Aborted when the client leaves or the response stalls. */
  signal: AbortSignal
  /** Kicked on every chunk pulled and every drain. */
  watchdog: Watchdog
}

/**
 * Writes `status` and `headers`, then `body`; resolves once the last byte is handed to the
 * socket. Rejects before writing anything if the first chunk fails; after that, destroys the
 * response and rejects.
 */
export async function sendStream (res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: AsyncIterable<Uint8Array>, opts: StreamOptions): Promise<void> {
  const { signal, watchdog, expectedBytes } = opts
  const chunks = body[Symbol.asyncIterator]()
  let finished = false
  try {
    let next = await abortable(chunks.next(), signal)
    res.writeHead(status, headers)
    try {
      let sent = 0
      while (next.done !== true) {
        watchdog.kick()
        sent += next.value.byteLength
        if (expectedBytes !== undefined && sent > expectedBytes) throw new Error(`content is longer than its declared ${expectedBytes} bytes`)
        if (!res.write(next.value)) {
          await once(res, 'drain', { signal })
          watchdog.kick()
        }
        next = await abortable(chunks.next(), signal)
      }
      if (expectedBytes !== undefined && sent !== expectedBytes) throw new Error(`content ended after ${sent} of its declared ${expectedBytes} bytes`)
      finished = true
      res.end()
    } catch (err) {
      res.destroy()
      throw err
    }
  } finally {
    // Releases the producer (pending block fetches) when the body was not read to its end.
    if (!finished) Promise.resolve(chunks.return?.()).catch(() => {})
  }
}
