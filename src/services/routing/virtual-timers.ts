/**
 * Virtual time for tests, benchmarks and simulation: a clock that moves only when `run` or
 * `runUntil` fires the next timer, after letting every pending promise settle. Timers due at the
 * same instant fire in the order they were set, so a run is fully deterministic.
 *
 * @example
 * ```ts
 * const timers = new VirtualTimers()
 * const call = routedCall(pool, async (id, signal) => { await timers.sleep(20, signal); return id })
 * await timers.runUntil(call)     // virtual time is now 20 ms
 * ```
 */
import assert from 'node:assert/strict'
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import type { Timers } from './timers.ts'

interface Timer {
  readonly atMs: number
  readonly seq: number
  readonly fn: () => void
  cancelled: boolean
}

/** A manual clock with timers; starts at `startMs`. */
export class VirtualTimers implements Timers {
  #nowMs: number
  #seq = 0
  /** Pending timers, sorted by (time, order set). */
  readonly #queue: Timer[] = []

  /** A virtual clock reading `startMs` (default 0). */
  constructor (startMs = 0) {
    this.#nowMs = startMs
  }

  /** The virtual time. */
  readonly now = (): number => this.#nowMs

  /** Schedules `fn` at now + `ms` of virtual time. */
  readonly setTimer = (fn: () => void, ms: number): (() => void) => {
    const timer: Timer = { atMs: this.#nowMs + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false }
    let lo = 0
    let hi = this.#queue.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.#queue[mid]!.atMs <= timer.atMs) lo = mid + 1
      else hi = mid
    }
    this.#queue.splice(lo, 0, timer)
    return () => { timer.cancelled = true }
  }

  /** Resolves after `ms` of virtual time; rejects with the signal's reason if it aborts first. */
  sleep (ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(signal.reason); return }
      const onAbort = (): void => { cancel(); reject(signal?.reason) }
      const cancel = this.setTimer(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Timers still pending. */
  get pending (): number {
    return this.#queue.filter(t => !t.cancelled).length
  }

  /**
   * Fires timers in order until none is left or the next is later than `untilMs`; the clock then
   * reads `untilMs` (if finite) or the last timer's time.
   */
  async run (untilMs = Number.POSITIVE_INFINITY): Promise<void> {
    for (;;) {
      await nextMacrotask()
      const next = this.#queue[0]
      if (next === undefined || next.atMs > untilMs) break
      this.#queue.shift()
      if (next.cancelled) continue
      this.#nowMs = next.atMs
      next.fn()
    }
    if (Number.isFinite(untilMs)) this.#nowMs = Math.max(this.#nowMs, untilMs)
  }

  /** Fires timers in order until `promise` settles, and returns (or throws) its outcome. */
  async runUntil<T> (promise: Promise<T>): Promise<T> {
    let settled = false
    const watched = promise.finally(() => { settled = true })
    watched.catch(() => {})
    for (;;) {
      await nextMacrotask()
      if (settled) return watched
      const next = this.#queue.shift()
      if (next === undefined) {
        await nextMacrotask()
        if (settled) return watched
        assert.fail('virtual time ran out of timers before the promise settled: it waits on something that never happens')
      }
      if (next.cancelled) continue
      this.#nowMs = next.atMs
      next.fn()
    }
  }
}
