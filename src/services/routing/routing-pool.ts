/**
 * A routing pool as the executor uses it: the core's pool state together with the clock, timers
 * and random source it runs on. One per resource; `RoutingPools` keeps them per name.
 */
import { randomInt } from 'node:crypto'
import { seededRandom, type Random } from '../../foundations/clock.ts'
import { createPool, snapshot, setProviders, type PoolSnapshot, type ProviderInfo, type RoutingConfig, type RoutingPoolState } from '../../core/routing/index.ts'
import { noRoutingEvents, type RoutingEvents } from './events.ts'
import { systemTimers, type Timers } from './timers.ts'

/** The providers of one resource, with what the client measured of them and the time it runs on. */
export interface RoutingPool {
  readonly name: string
  readonly state: RoutingPoolState
  readonly timers: Timers
  readonly random: Random
  /** Where attempts, ejections and hedges are reported (metrics). */
  readonly events: RoutingEvents
}

/** How a routing pool is set up. */
export interface RoutingPoolInit {
  /** The resource (e.g. `cid:bafy…`, `service:mysite.key`), for messages and metrics. */
  name: string
  providers: readonly ProviderInfo[]
  /** The client's region; providers elsewhere cost more. */
  region?: string
  /** Default: real time. */
  timers?: Timers
  /** Default: seeded from the OS, so different clients choose differently. */
  random?: Random
  /** Tunings that differ from the core's defaults. */
  config?: Partial<RoutingConfig>
  /** Default: reports nothing. */
  events?: RoutingEvents
}

/** A new pool; every provider starts active and unmeasured. */
export function createRoutingPool (init: RoutingPoolInit): RoutingPool {
  const timers = init.timers ?? systemTimers
  const state = createPool({ name: init.name, providers: init.providers, now: timers.now(), ...(init.region === undefined ? {} : { region: init.region }), ...(init.config === undefined ? {} : { config: init.config }) })
  return { name: init.name, state, timers, random: init.random ?? randomSource(), events: init.events ?? noRoutingEvents }
}

/** Replaces the pool's members (measurements of those staying are kept). */
export function updateProviders (pool: RoutingPool, providers: readonly ProviderInfo[]): void {
  setProviders(pool.state, providers, pool.timers.now())
}

/** The pool now, for `keynet top` and `/metrics`. */
export function poolSnapshot (pool: RoutingPool): PoolSnapshot {
  return snapshot(pool.state, pool.timers.now())
}

/** A random source seeded from the OS: selection needs no secrecy, only that clients differ. */
export function randomSource (): Random {
  return seededRandom(randomInt(2 ** 31 - 1))
}
