/**
 * The executor every kind of request goes through: it asks the pool which provider to use, runs
 * the attempt, hedges a second attempt on another provider once the call is slower than the
 * pool's p95 (if the hedge budget allows; the first verified answer wins and the other attempt
 * is aborted), retries on another provider after a failure (while the call's retries, the
 * pool's retry budget, the deadline and the caller's signal allow), and reports every outcome
 * back to the pool. Attempts we stop waiting for count as cancelled, never as failures.
 *
 * Hedges and retries resend the request, so a non-idempotent one (a write that must not happen
 * twice) should pass `hedge: false, retries: 0`, or make the write idempotent.
 *
 * @example
 * ```ts
 * const pool = pools.pool('service:mysite.key', endpoints)
 * const res = await routedCall(pool, async (id, signal) => forward(id, request, signal), {
 *   signal: request.signal,
 *   deadlineMs: 5000,
 *   classify: (err) => err instanceof BadRequestError ? 'fatal' : err instanceof BlockMismatchError ? 'wrong' : 'error'
 * })
 * ```
 */
import assert from 'node:assert/strict'
import { TimeoutError, UnavailableError } from '../../foundations/errors.ts'
import { callStarted, choose, finished, hedgeDelayMs, started, takeHedgeToken, takeRetryToken, type Attempt, type OutcomeKind } from '../../core/routing/index.ts'
import { defaultAttemptTimeoutMs, defaultRetries, maxOutcomeDetailChars, maxRetriesPerCall } from './constants.ts'
import type { RoutingPool } from './routing-pool.ts'

/** How a failed attempt counts: against the provider (`error`, `timeout`, `wrong`) or as the caller's own fault (`fatal`: not retried, not blamed). */
export type FailureKind = 'error' | 'timeout' | 'wrong' | 'fatal'

/** One attempt on one provider; it should stop when `signal` aborts. */
export type AttemptFn<T> = (providerId: string, signal: AbortSignal) => Promise<T>

/** Options of one routed call. */
export interface RoutedCallOptions<T = unknown> {
  /** The caller's signal: aborting it aborts every attempt at once, and the call rejects with its reason. */
  signal?: AbortSignal
  /** The whole call's time budget from now, in ms: past it every attempt is aborted and the call rejects with a `TimeoutError`. */
  deadlineMs?: number
  /** Hedge after the pool's p95 (default true). */
  hedge?: boolean
  /** Retries on other providers after failures (default `defaultRetries`, at most `maxRetriesPerCall`). */
  retries?: number
  /** An attempt silent this long counts as a timeout (default `defaultAttemptTimeoutMs`). */
  attemptTimeoutMs?: number
  /** How a thrown error counts (default `defaultClassify`). */
  classify?: (err: unknown) => FailureKind
  /**
   * Disposes of an answer that came after the call was settled by another (a hedge loser that
   * ran on to be measured), e.g. cancels a `Response` body. Default: the answer is dropped.
   */
  discard?: (value: T) => void
}

/** Timeouts (ours, or an `AbortSignal.timeout`) are `timeout`; anything else is the provider's `error`. */
export function defaultClassify (err: unknown): FailureKind {
  if (err instanceof TimeoutError || (err instanceof Error && err.name === 'TimeoutError')) return 'timeout'
  return 'error'
}

/**
 * Runs `attempt` on the pool's providers until one answers. Throws the caller's abort reason, a
 * `TimeoutError` past the deadline, the attempt's own error when classified `fatal`, or an
 * `UnavailableError` saying what each provider did when no attempt succeeded.
 */
export async function routedCall<T> (pool: RoutingPool, attempt: AttemptFn<T>, opts: RoutedCallOptions<T> = {}): Promise<T> {
  opts.signal?.throwIfAborted()
  const retries = opts.retries ?? defaultRetries
  assert.ok(Number.isInteger(retries) && retries >= 0 && retries <= maxRetriesPerCall, `retries must be an integer from 0 to ${maxRetriesPerCall}`)
  assert.ok(opts.attemptTimeoutMs === undefined || opts.attemptTimeoutMs > 0, 'attemptTimeoutMs must be positive')
  assert.ok(opts.deadlineMs === undefined || opts.deadlineMs >= 0, 'deadlineMs must not be negative')
  callStarted(pool.state, pool.timers.now())
  return new Promise<T>((resolve, reject) => {
    new RoutedCall(pool, attempt, opts, retries, resolve, reject).start()
  })
}

/** An attempt under way. */
interface Running {
  readonly attempt: Attempt
  readonly controller: AbortController
  cancelTimeout: () => void
}

/** The state of one call, from its first attempt until it settles. */
class RoutedCall<T> {
  readonly #pool: RoutingPool
  readonly #attempt: AttemptFn<T>
  readonly #opts: RoutedCallOptions<T>
  readonly #retries: number
  readonly #resolve: (value: T) => void
  readonly #reject: (err: unknown) => void
  readonly #attemptTimeoutMs: number
  readonly #running = new Set<Running>()
  /** Providers this call asked, with what each did; also the ones to skip from now on. */
  readonly #outcomes = new Map<string, string>()
  readonly #cleanups: Array<() => void> = []
  #retriesLeft: number
  #hedged = false
  #settled = false

  constructor (pool: RoutingPool, attempt: AttemptFn<T>, opts: RoutedCallOptions<T>, retries: number, resolve: (value: T) => void, reject: (err: unknown) => void) {
    this.#pool = pool
    this.#attempt = attempt
    this.#opts = opts
    this.#retries = retries
    this.#retriesLeft = retries
    this.#resolve = resolve
    this.#reject = reject
    this.#attemptTimeoutMs = opts.attemptTimeoutMs ?? defaultAttemptTimeoutMs
  }

  start (): void {
    const { signal, deadlineMs } = this.#opts
    if (signal !== undefined) {
      const onAbort = (): void => { this.#settle(signal.reason, () => { this.#reject(signal.reason) }) }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#cleanups.push(() => { signal.removeEventListener('abort', onAbort) })
    }
    if (deadlineMs !== undefined) this.#cleanups.push(this.#pool.timers.setTimer(() => { this.#deadlinePassed(deadlineMs) }, deadlineMs))
    const id = this.#choose()
    if (id === undefined) {
      this.#fail('none of its providers is selectable now')
      return
    }
    this.#launch(id)
    const delay = this.#opts.hedge === false ? undefined : hedgeDelayMs(this.#pool.state)
    if (delay !== undefined) this.#cleanups.push(this.#pool.timers.setTimer(() => { this.#hedge() }, delay))
  }

  #choose (): string | undefined {
    const { state, timers, random } = this.#pool
    return choose(state, timers.now(), random, new Set(this.#outcomes.keys()))
  }

  #launch (id: string): void {
    const { state, timers } = this.#pool
    this.#outcomes.set(id, 'still running')
    const run: Running = { attempt: started(state, id, timers.now()), controller: new AbortController(), cancelTimeout: () => {} }
    this.#running.add(run)
    run.cancelTimeout = timers.setTimer(() => { this.#timedOut(run) }, this.#attemptTimeoutMs)
    let answer: Promise<T>
    try {
      answer = this.#attempt(id, run.controller.signal)
    } catch (err) {
      answer = Promise.reject(err)
    }
    Promise.resolve(answer)
      .then((value) => { this.#succeeded(run, value) }, (err: unknown) => { this.#failed(run, err) })
      .catch((err: unknown) => { this.#settle(err, () => { this.#reject(err) }) })
  }

  /** Takes `run` off the running set; false when it had already ended (cancelled or timed out). */
  #end (run: Running): boolean {
    if (run.attempt.done) return false
    this.#running.delete(run)
    run.cancelTimeout()
    return true
  }

  #succeeded (run: Running, value: T): void {
    if (!this.#end(run)) return
    this.#finish(run, 'success')
    if (this.#settled) {
      this.#opts.discard?.(value)
      return
    }
    this.#outcomes.set(run.attempt.providerId, 'answered')
    this.#settle(new DOMException('another provider answered first', 'AbortError'), () => { this.#resolve(value) }, 'measure')
  }

  #failed (run: Running, err: unknown): void {
    if (run.attempt.done) return
    // Classified while still running: if `classify` throws, the call rejects with that and the attempt ends as cancelled.
    const kind = this.#opts.classify === undefined ? defaultClassify(err) : this.#opts.classify(err)
    assert.ok(kind === 'error' || kind === 'timeout' || kind === 'wrong' || kind === 'fatal', `classify returned ${String(kind)}`)
    this.#end(run)
    this.#finish(run, kind)
    if (kind === 'fatal') {
      this.#settle(new DOMException('the request was refused as faulty', 'AbortError'), () => { this.#reject(err) })
      return
    }
    this.#outcomes.set(run.attempt.providerId, clip(`${kind} (${describe(err)})`))
    this.#next()
  }

  #timedOut (run: Running): void {
    if (!this.#end(run)) return
    const id = run.attempt.providerId
    this.#finish(run, 'timeout')
    run.controller.abort(new TimeoutError(`provider ${id} gave no answer within ${this.#attemptTimeoutMs} ms`))
    this.#outcomes.set(id, `timeout (no answer within ${this.#attemptTimeoutMs} ms)`)
    this.#next()
  }

  /** Reports how `run` ended to the pool and to the events. */
  #finish (run: Running, kind: OutcomeKind): void {
    const { state, timers, events, name } = this.#pool
    const now = timers.now()
    const id = run.attempt.providerId
    const ejected = finished(state, run.attempt, kind, now)
    events.request(name, id, kind === 'success' ? 'ok' : kind, Math.max(0, now - run.attempt.startedAtMs) / 1000)
    if (ejected) events.ejected(name, id)
  }

  /** After a failure: retry on another provider if everything allows, else fail the call. */
  #next (): void {
    if (this.#settled || this.#running.size > 0) return // another attempt (a hedge) may still answer
    if (this.#retriesLeft === 0) {
      this.#fail(this.#retries === 0 ? 'retries are off for this call' : `all ${this.#retries} retries of this call are used`)
      return
    }
    const id = this.#choose()
    if (id === undefined) {
      this.#fail('no other provider is selectable')
      return
    }
    if (!takeRetryToken(this.#pool.state, this.#pool.timers.now())) {
      this.#fail('the pool\'s retry budget is spent (retries are held to a small share of calls so a failing pool sees no retry storm); try again shortly')
      return
    }
    this.#retriesLeft -= 1
    this.#launch(id)
  }

  #hedge (): void {
    if (this.#settled || this.#hedged || this.#running.size === 0) return
    const id = this.#choose()
    if (id === undefined || !takeHedgeToken(this.#pool.state, this.#pool.timers.now())) return
    this.#hedged = true
    this.#pool.events.hedged(this.#pool.name)
    this.#launch(id)
  }

  #deadlinePassed (deadlineMs: number): void {
    const err = new TimeoutError(`no provider of ${this.#pool.name} answered within the call's deadline of ${deadlineMs} ms: ${this.#whatEachDid()}; allow a longer deadline or check the providers`)
    this.#settle(err, () => { this.#reject(err) })
  }

  #fail (reason: string): void {
    const err = new UnavailableError(`no provider of ${this.#pool.name} could answer: ${this.#whatEachDid()}; ${reason}`)
    this.#settle(err, () => { this.#reject(err) })
  }

  /**
   * Ends the call once: clears its timers and listener, then resolves or rejects. The attempts
   * still running are cancelled, or with `losers: 'measure'` (another provider answered) left to
   * run to their end or timeout so the pool learns how slow they really were: cut off at the
   * moment of losing, a slow or hanging provider would be measured as only as slow as the hedge
   * delay and keep getting traffic.
   */
  #settle (reason: unknown, done: () => void, losers: 'cancel' | 'measure' = 'cancel'): void {
    if (this.#settled) return
    this.#settled = true
    for (const cleanup of this.#cleanups) cleanup()
    if (losers === 'measure') {
      done()
      return
    }
    for (const run of this.#running) {
      run.cancelTimeout()
      this.#finish(run, 'cancelled')
      run.controller.abort(reason)
    }
    this.#running.clear()
    done()
  }

  /** Each provider of the pool (and any asked that left it): what it did for this call. */
  #whatEachDid (): string {
    const parts = [...this.#outcomes].map(([id, what]) => `${id}: ${what}`)
    const now = this.#pool.timers.now()
    for (const p of this.#pool.state.providers.values()) {
      if (this.#outcomes.has(p.id)) continue
      const what = p.status === 'ejected' ? `ejected after failures (back on probation in ${Math.ceil(p.ejectedUntilMs - now)} ms)` : p.status === 'probation' ? 'on probation, not asked' : 'not asked'
      parts.push(`${p.id}: ${what}`)
    }
    return parts.length === 0 ? 'the pool has no providers' : parts.join('; ')
  }
}

function describe (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

function clip (text: string): string {
  return text.length <= maxOutcomeDetailChars ? text : `${text.slice(0, maxOutcomeDetailChars - 1)}…`
}
