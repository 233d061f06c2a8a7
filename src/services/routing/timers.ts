/**
 * Time for the routed-call executor: a clock and one-shot timers, passed in so tests and the
 * simulator run it on virtual time (`VirtualTimers`) and the node on the real one (`systemTimers`).
 */
import type { Clock } from '../../foundations/clock.ts'

/** A clock with one-shot timers. */
export interface Timers extends Clock {
  /** Calls `fn` once after `ms`; the returned function cancels it (harmless after it fired). */
  setTimer: (fn: () => void, ms: number) => () => void
}

/**
 * Real time: a monotonic, sub-millisecond clock (epoch-based, so it reads as a date) and Node's
 * timers. A call clears its timers when it settles, so none outlives it.
 */
export const systemTimers: Timers = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer: (fn, ms) => {
    const handle = setTimeout(fn, ms)
    return () => { clearTimeout(handle) }
  }
}
