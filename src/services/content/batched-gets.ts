/**
 * Gathers the single-block gets made for one provider in the same turn of the event loop into
 * batch requests, so a walk over many small blocks costs one request per batch, not one per
 * block. Each get still settles on its own, as soon as its block arrived, and can be abandoned
 * alone (a hedge lost, a stall): a batch is aborted on the wire only once every get in it is.
 *
 * @example
 * ```ts
 * const gets = new BatchedGets((cids, signal, onBlock) => http.getBatch(cids, signal, onBlock), 64)
 * const [a, b] = await Promise.all([gets.get(cidA, signalA), gets.get(cidB, signalB)])   // one request
 * ```
 */
import assert from 'node:assert/strict'
import type { CID } from '../../core/content/cid.ts'

/** Sends one batch: calls `onBlock` once per CID, in order, with verified bytes (undefined: not held); rejects at the first failure. */
export type SendBatch = (cids: CID[], signal: AbortSignal, onBlock: (index: number, bytes: Uint8Array | undefined) => void) => Promise<void>

interface Waiter {
  readonly cid: CID
  readonly signal: AbortSignal | undefined
  resolve: (bytes: Uint8Array | undefined) => void
  reject: (err: unknown) => void
  settled: boolean
}

/** Batches the gets of one provider. */
export class BatchedGets {
  readonly #send: SendBatch
  readonly #maxBatch: number
  #queued: Waiter[] = []
  #scheduled = false
  /** Batches on the wire now. */
  #inFlight = 0

  constructor (send: SendBatch, maxBatch: number) {
    assert.ok(Number.isSafeInteger(maxBatch) && maxBatch >= 1)
    this.#send = send
    this.#maxBatch = maxBatch
  }

  /** Batch requests on the wire now. */
  get inFlight (): number {
    return this.#inFlight
  }

  /** The block's verified bytes, or undefined when the provider does not hold it. */
  async get (cid: CID, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    signal?.throwIfAborted()
    return await new Promise<Uint8Array | undefined>((resolve, reject) => {
      const w: Waiter = { cid, signal, resolve, reject, settled: false }
      this.#queued.push(w)
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => { this.#flush() })
      }
    })
  }

  #flush (): void {
    this.#scheduled = false
    const queued = this.#queued.filter(w => !settleIfAborted(w))
    this.#queued = []
    for (let i = 0; i < queued.length; i += this.#maxBatch) this.#start(queued.slice(i, i + this.#maxBatch))
  }

  #start (batch: Waiter[]): void {
    const wire = new AbortController()
    const onAbort = (): void => {
      for (const w of batch) settleIfAborted(w)
      if (batch.every(w => w.settled)) wire.abort(new Error('every get of the batch was abandoned'))
    }
    for (const w of batch) w.signal?.addEventListener('abort', onAbort, { once: true })
    this.#inFlight += 1
    const done = (err?: unknown): void => {
      this.#inFlight -= 1
      for (const w of batch) {
        w.signal?.removeEventListener('abort', onAbort)
        if (w.settled) continue
        w.settled = true
        w.reject(err ?? new Error('the batch answer left a block out'))
      }
    }
    this.#send(batch.map(w => w.cid), wire.signal, (i, bytes) => {
      const w = batch[i]
      if (w === undefined || w.settled) return
      w.settled = true
      w.resolve(bytes)
    }).then(() => { done() }, done)
  }
}

/** Rejects a get whose signal aborted; true when it is settled (now or before). */
function settleIfAborted (w: Waiter): boolean {
  if (!w.settled && w.signal?.aborted === true) {
    w.settled = true
    w.reject(w.signal.reason)
  }
  return w.settled
}
