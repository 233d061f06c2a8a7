/**
 * Live measurements of one binding, for `list` and for metrics: requests, failures at the node,
 * answers by status class, requests in flight, a histogram of the time to the backend's response
 * head, and whether the backend answered lately. No I/O; time is passed in.
 */
import { latencyBucketsSeconds, maxErrorTextChars } from './constants.ts'

/** Time to the response head, Prometheus-shaped: `counts[i]` observations took ≤ `bucketsSeconds[i]`. */
export interface LatencyHistogram {
  bucketsSeconds: readonly number[]
  /** Cumulative, one per bucket; observations above the last bucket count only in `count`. */
  counts: number[]
  count: number
  sumSeconds: number
}

/** A binding's measurements at one moment. */
export interface BindingStats {
  name: string
  pathPrefix: string
  backend: string
  /** Requests matched to the binding. */
  requests: number
  /** Requests that failed at the node: backend unreachable or timed out, exchange broken off, limits. */
  errors: number
  inFlight: number
  /** Backend answers by status class (`2xx`, `3xx`, `4xx`, `5xx`). */
  responses: Record<'2xx' | '3xx' | '4xx' | '5xx', number>
  latency: LatencyHistogram
  /** Whether the backend answered lately; `undefined` while unknown. */
  reachable?: boolean
  lastError?: string
  lastErrorAt?: number
  lastOkAt?: number
}

/** The counters of one binding. */
export class BindingMeter {
  requests = 0
  errors = 0
  inFlight = 0
  reachable: boolean | undefined
  lastError: string | undefined
  lastErrorAt: number | undefined
  lastOkAt: number | undefined
  readonly #responses = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }
  readonly #buckets = new Array<number>(latencyBucketsSeconds.length).fill(0)
  #count = 0
  #sumSeconds = 0

  /** A request starts. */
  begin (): void {
    this.requests++
    this.inFlight++
  }

  /** A request ends, whatever became of it. */
  end (): void {
    this.inFlight--
  }

  /** The backend answered with `status` after `latencyMs`. */
  answered (status: number, latencyMs: number, now: number): void {
    const cls = status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : '2xx'
    this.#responses[cls]++
    const seconds = Math.max(0, latencyMs) / 1000
    this.#count++
    this.#sumSeconds += seconds
    const i = latencyBucketsSeconds.findIndex(le => seconds <= le)
    if (i >= 0) this.#buckets[i] = (this.#buckets[i] ?? 0) + 1
    this.seen(now)
  }

  /** The backend answered something (a request or a probe). */
  seen (now: number): void {
    this.reachable = true
    this.lastOkAt = now
  }

  /** A request or probe failed; `unreachable` when the backend itself could not be reached. */
  failed (message: string, now: number, opts: { unreachable: boolean, counts: boolean }): void {
    if (opts.counts) this.errors++
    if (opts.unreachable) this.reachable = false
    this.lastError = message.slice(0, maxErrorTextChars)
    this.lastErrorAt = now
  }

  /** When the state was last learned (an answer or a failure). */
  get stateAt (): number | undefined {
    return Math.max(this.lastOkAt ?? -1, this.lastErrorAt ?? -1) < 0 ? undefined : Math.max(this.lastOkAt ?? 0, this.lastErrorAt ?? 0)
  }

  /** The measurements now, for a binding. */
  snapshot (spec: { name: string, pathPrefix: string, backend: string }): BindingStats {
    let cumulative = 0
    const counts = this.#buckets.map(n => (cumulative += n))
    return {
      name: spec.name,
      pathPrefix: spec.pathPrefix,
      backend: spec.backend,
      requests: this.requests,
      errors: this.errors,
      inFlight: this.inFlight,
      responses: { ...this.#responses },
      latency: { bucketsSeconds: latencyBucketsSeconds, counts, count: this.#count, sumSeconds: this.#sumSeconds },
      ...(this.reachable === undefined ? {} : { reachable: this.reachable }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError, lastErrorAt: this.lastErrorAt }),
      ...(this.lastOkAt === undefined ? {} : { lastOkAt: this.lastOkAt })
    }
  }
}
