/**
 * Selection: which provider the next attempt goes to. Power of two choices (Mitzenmacher) on
 * the providers' costs: draw two distinct candidates at random and take the cheaper, which
 * spreads load like "always the cheapest" without herding every client onto the same provider.
 * When the client has a region and a provider there is selectable, the first candidate is drawn
 * from that region, so near providers win until they cost `remoteRegionCostFactor` times more.
 * Ejected providers are skipped; a provider on probation gets a probe with probability
 * `probationTrafficShare` (one probe in flight at a time), or any traffic when nothing active is
 * left. Deterministic: the same pool, clock reading and random sequence give the same choice.
 */
import type { Random } from '../../foundations/clock.ts'
import { poolLatencies, releaseEjected, type RoutingPoolState } from './pool.ts'
import { providerCost, type ProviderState } from './provider.ts'

/**
 * The provider for the next attempt, skipping `exclude` (those this call already tried); undefined
 * when no provider is selectable. Does not start the attempt: call `started` with the answer.
 */
export function choose (pool: RoutingPoolState, now: number, random: Random, exclude?: ReadonlySet<string>): string | undefined {
  releaseEjected(pool, now)
  const active: ProviderState[] = []
  const probation: ProviderState[] = []
  for (const p of pool.providers.values()) {
    if (exclude?.has(p.id) === true) continue
    if (p.status === 'active') active.push(p)
    else if (p.status === 'probation') probation.push(p)
  }
  if (active.length === 0) return twoChoices(pool, probation, now, random)?.id
  const probes = probation.filter(p => p.inFlight === 0)
  if (probes.length > 0 && random.next() < pool.config.probationTrafficShare) return probes[random.int(probes.length)]!.id
  return twoChoices(pool, active, now, random)?.id
}

function twoChoices (pool: RoutingPoolState, candidates: ProviderState[], now: number, random: Random): ProviderState | undefined {
  if (candidates.length <= 1) return candidates[0]
  const local = pool.region === undefined ? [] : candidates.filter(p => p.region === pool.region)
  const first = local.length > 0 ? local[random.int(local.length)]! : candidates[random.int(candidates.length)]!
  const firstIndex = candidates.indexOf(first)
  let j = random.int(candidates.length - 1)
  if (j >= firstIndex) j += 1
  const second = candidates[j]!
  const latencies = poolLatencies(pool)
  const cost = (p: ProviderState): number => providerCost(p, now, pool.config, pool.region, latencies)
  return cost(second) < cost(first) ? second : first
}
