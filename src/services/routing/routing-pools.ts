/**
 * The registry of routing pools a client keeps, one per resource, keyed by name. It holds at
 * most `maxPools` (least recently used dropped first), so a client that touches many resources
 * keeps the measurements of its working set and bounded memory.
 *
 * @example
 * ```ts
 * const pools = new RoutingPools({ region: 'eu-west' })
 * const pool = pools.pool(`cid:${root}`, holders.map(h => ({ id: h.peerId, region: h.region })))
 * const block = await routedCall(pool, async (id, signal) => fetchBlock(id, cid, signal))
 * ```
 */
import assert from 'node:assert/strict'
import type { Random } from '../../foundations/clock.ts'
import { providerCosts, type PoolSnapshot, type ProviderInfo, type ProviderStatus, type RoutingConfig } from '../../core/routing/index.ts'
import { maxRoutingPools } from './constants.ts'
import type { RoutingEvents } from './events.ts'
import { createRoutingPool, poolSnapshot, randomSource, updateProviders, type RoutingPool } from './routing-pool.ts'
import { systemTimers, type Timers } from './timers.ts'

/** How a registry is set up; every pool it creates shares these. */
export interface RoutingPoolsInit {
  /** The client's region. */
  region?: string
  /** Default: real time. */
  timers?: Timers
  /** Default: seeded from the OS. */
  random?: Random
  /** Pools kept (default `maxRoutingPools`). */
  maxPools?: number
  /** Tunings that differ from the core's defaults. */
  config?: Partial<RoutingConfig>
  /** Where attempts, ejections and hedges are reported (metrics); default nowhere. */
  events?: RoutingEvents
}

/** One pool's providers with their state and cost: what a metrics scrape reads (`PoolView` in `src/services/metrics`). */
export interface PoolCosts {
  pool: string
  providers: Array<{ provider: string, state: ProviderStatus, score: number }>
}

/** One routing pool per resource name, least recently used dropped past the bound. */
export class RoutingPools {
  readonly #pools = new Map<string, RoutingPool>()
  readonly #region: string | undefined
  readonly #timers: Timers
  readonly #random: Random
  readonly #maxPools: number
  readonly #config: Partial<RoutingConfig> | undefined
  readonly #events: RoutingEvents | undefined

  /** An empty registry. */
  constructor (init: RoutingPoolsInit = {}) {
    this.#region = init.region
    this.#timers = init.timers ?? systemTimers
    this.#random = init.random ?? randomSource()
    this.#maxPools = init.maxPools ?? maxRoutingPools
    this.#config = init.config
    this.#events = init.events
    assert.ok(Number.isInteger(this.#maxPools) && this.#maxPools >= 1)
  }

  /** Pools held. */
  get size (): number {
    return this.#pools.size
  }

  /**
   * The pool of resource `name` with exactly `providers` as members: created on first use,
   * otherwise updated (measurements of members that stay are kept) and marked recently used.
   */
  pool (name: string, providers: readonly ProviderInfo[]): RoutingPool {
    const known = this.#pools.get(name)
    if (known !== undefined) {
      updateProviders(known, providers)
      this.#pools.delete(name)
      this.#pools.set(name, known)
      return known
    }
    const created = createRoutingPool({
      name,
      providers,
      timers: this.#timers,
      random: this.#random,
      ...(this.#region === undefined ? {} : { region: this.#region }),
      ...(this.#config === undefined ? {} : { config: this.#config }),
      ...(this.#events === undefined ? {} : { events: this.#events })
    })
    this.#pools.set(name, created)
    if (this.#pools.size > this.#maxPools) {
      const oldest = this.#pools.keys().next().value
      if (oldest !== undefined) this.#pools.delete(oldest)
    }
    return created
  }

  /** The pool of `name` if held (not marked as used). */
  get (name: string): RoutingPool | undefined {
    return this.#pools.get(name)
  }

  /** Forgets the pool of `name`; says whether there was one. */
  delete (name: string): boolean {
    return this.#pools.delete(name)
  }

  /** Every pool now, most recently used last: the full picture, with latency quantiles and counters. */
  snapshot (): PoolSnapshot[] {
    return [...this.#pools.values()].map(poolSnapshot)
  }

  /** Every pool's providers with state and cost (score) now: cheap enough for every metrics scrape. */
  views (): PoolCosts[] {
    const now = this.#timers.now()
    return [...this.#pools.values()].map(p => ({
      pool: p.name,
      providers: providerCosts(p.state, now).map(c => ({ provider: c.id, state: c.state, score: c.cost }))
    }))
  }
}
