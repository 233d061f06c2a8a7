/**
 * How a gateway request is cancelled: one AbortSignal per request, aborted when the client goes
 * away or when the response stalls (no upstream block and no client drain for `stallTimeoutMs`),
 * and awaits that stop at once when it fires, even if the awaited call ignores signals.
 */
import { TimeoutError } from '../../foundations/errors.ts'

/** Aborts a controller with a `TimeoutError` unless `kick()` is called at least every `timeoutMs`. */
export class Watchdog {
  private readonly controller: AbortController
  private readonly timeoutMs: number
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor (controller: AbortController, timeoutMs: number) {
    this.controller = controller
    this.timeoutMs = timeoutMs
    this.kick()
  }

  /** Records progress: the stall clock starts again. */
  kick (): void {
    clearTimeout(this.timer)
    if (this.controller.signal.aborted) return
    this.timer = setTimeout(() => {
      this.controller.abort(new TimeoutError(`the response made no progress for ${this.timeoutMs / 1000} s (content provider or client too slow); try again`))
    }, this.timeoutMs)
    this.timer.unref()
  }

  /** Stops watching (the response is complete or abandoned). */
  stop (): void {
    clearTimeout(this.timer)
  }
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts. The
 * abandoned promise's own outcome is consumed, so it never becomes an unhandled rejection.
 */
export function abortable<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {})
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(value => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    }, (err: unknown) => {
      signal.removeEventListener('abort', onAbort)
      reject(err)
    })
  })
}
