/**
 * @packageDocumentation
 *
 * The async side of quality-based routing: `routedCall` runs a request on the providers of one
 * resource with selection, hedging, retries, deadlines and cancellation, feeding every outcome
 * back into the pool (`src/core/routing`); `RoutingPools` keeps one pool per resource. Time comes
 * from `Timers`: `systemTimers` in a node, `VirtualTimers` in tests and simulation.
 *
 * @example
 * ```ts
 * const pools = new RoutingPools({ region: 'eu-west' })
 * const pool = pools.pool('service:mysite.key', [{ id: 'n1', region: 'eu-west' }, { id: 'n2', region: 'us-east' }])
 * const body = await routedCall(pool, async (id, signal) => ask(id, signal), { deadlineMs: 5000 })
 * console.table(pools.snapshot()[0]?.providers)
 * ```
 */
export { routedCall, defaultClassify, type AttemptFn, type FailureKind, type RoutedCallOptions } from './routed-call.ts'
export { createRoutingPool, updateProviders, poolSnapshot, randomSource, type RoutingPool, type RoutingPoolInit } from './routing-pool.ts'
export { RoutingPools, type RoutingPoolsInit, type PoolCosts } from './routing-pools.ts'
export { noRoutingEvents, type RoutingEvents, type RoutedOutcome } from './events.ts'
export { systemTimers, type Timers } from './timers.ts'
export { VirtualTimers } from './virtual-timers.ts'
