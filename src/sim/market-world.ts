/**
 * The population of the market simulation: operators, their provider nodes and how each
 * behaves, and the independent auditors. Everything is drawn from one seeded random source, so a
 * seed names one world.
 *
 * Behaviours (30 % of providers adversarial by default):
 * - `honest`: holds what it accepts; now and then misses an off-ledger audit (a network blip)
 *   and answers on the ledger instead; rarely goes down for a few periods (a real outage).
 * - `drop`: holds new data for a few periods, then deletes it and answers nothing.
 * - `garbage`: answers every challenge at once with bytes that do not verify.
 * - `part-time`: in some periods keeps only half of the blocks (cheating part of the time).
 * - `sybil`: one operator split into many operator keys funded from one wallet, serving honestly
 *   but undercutting prices to corner the market.
 * Auditors: a staked pool in their own operator groups; a few collude with the cheaters (pass
 * them, fail honest providers).
 */
import type { Random } from '../foundations/clock.ts'
import { operatorGroups, type ProviderIdentity } from '../core/market/operators.ts'

export type Behaviour = 'honest' | 'drop' | 'garbage' | 'part-time' | 'sybil'

export const regions = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-east'] as const

export interface SimProvider {
  id: string
  operator: string
  group: string
  region: string
  behaviour: Behaviour
  /** Period it first offers (0 for the initial market). */
  joins: number
  capacity: number
  used: number
  /** Its price as a multiple of the reference price. */
  priceFactor: number
  /** Answer latency (ms) when it answers correctly. */
  latencyMs: number
  /** Periods of an outage still to run (honest), and whether it is cheating this period (part-time). */
  downFor: number
  cheatingNow: boolean
}

export interface SimAuditor { id: string, group: string, colluding: boolean, index: number }

export interface WorldOptions {
  providers: number
  operators: number
  /** Share of providers that are adversarial, split over drop, garbage, part-time and one sybil operator. */
  adversarialShare: number
  /** Share of providers that join after the start (newcomers), spread over the run. */
  newcomerShare: number
  periods: number
  auditors: number
  colludingAuditors: number
  /** Apply the operator-identity rule (shared stake source or network = one operator); off, every operator key stands alone. */
  mergeIdentities?: boolean
}

export interface World {
  providers: SimProvider[]
  auditors: SimAuditor[]
  stakeOf: Map<string, number>
}

export function buildWorld (o: WorldOptions, random: Random): World {
  const adversarial = Math.round(o.providers * o.adversarialShare)
  const sybil = Math.round(adversarial / 3)
  const cheaters = adversarial - sybil
  const behaviours: Behaviour[] = [
    ...Array<Behaviour>(Math.round(cheaters * 0.4)).fill('drop'),
    ...Array<Behaviour>(Math.round(cheaters * 0.3)).fill('garbage')
  ]
  while (behaviours.length < cheaters) behaviours.push('part-time')
  // Honest and cheating providers are spread over the ordinary operators; the sybil operator's
  // nodes come under many keys of their own.
  const ordinaryOperators = o.operators - 1
  const sybilKeys = Math.max(1, Math.round(sybil / 4))
  const identities: ProviderIdentity[] = []
  const providers: SimProvider[] = []
  const honest = o.providers - adversarial
  // Cheating is an operator's choice, not a node's accident: each ordinary operator runs either
  // honest or cheating nodes, in proportion to their numbers.
  const honestOperators = Math.max(1, Math.min(ordinaryOperators - 1, Math.round(ordinaryOperators * honest / (honest + cheaters))))
  const order: Behaviour[] = shuffle([...behaviours, ...Array<Behaviour>(honest).fill('honest')], random)
  let honestSeen = 0, cheatersSeen = 0
  for (const [i, behaviour] of order.entries()) {
    const n = behaviour === 'honest' ? honestSeen++ % honestOperators : honestOperators + cheatersSeen++ % (ordinaryOperators - honestOperators)
    providers.push(provider(`p-${i}`, `op-${String(n).padStart(4, '0')}`, behaviour, random))
  }
  for (let i = 0; i < sybil; i++) providers.push(provider(`s-${i}`, `sy-${String(i % sybilKeys).padStart(4, '0')}`, 'sybil', random))
  // Newcomers: a share of the honest and the cheating providers join during the run.
  const late = shuffle(providers.filter(p => p.behaviour !== 'sybil'), random).slice(0, Math.round(o.providers * o.newcomerShare))
  for (const p of late) p.joins = 1 + random.int(Math.max(1, o.periods - 20))
  for (const p of providers) {
    identities.push({
      id: p.id,
      operator: p.operator,
      // Each operator funds its own stake, except the sybil keys: one wallet funds them all.
      stakeSources: [p.behaviour === 'sybil' ? 'sybil-wallet' : `wallet-${p.operator}`],
      prefixes: [p.behaviour === 'sybil' ? `ip4/203.0.${113 + (Number(p.id.slice(2)) % 3)}` : `ip4/${p.id}`]
    })
  }
  const groups = operatorGroups(identities)
  if (o.mergeIdentities !== false) for (const p of providers) p.group = groups.get(p.id)!
  const auditors: SimAuditor[] = Array.from({ length: o.auditors }, (_, i) => ({ id: `a-${i}`, group: i < o.colludingAuditors ? 'auditor-cartel' : `auditor-op-${i >> 1}`, colluding: i < o.colludingAuditors, index: i }))
  const stakeOf = new Map<string, number>()
  for (const p of providers) stakeOf.set(p.group, 200_000)
  return { providers, auditors, stakeOf }
}

function provider (id: string, operator: string, behaviour: Behaviour, random: Random): SimProvider {
  const priceFactor = behaviour === 'sybil' ? 0.6 : behaviour === 'honest' ? 0.8 + random.next() * 0.4 : 0.7 + random.next() * 0.2
  return {
    id,
    operator,
    group: operator,
    region: regions[random.int(regions.length)]!,
    behaviour,
    joins: 0,
    capacity: 100 + random.int(300),
    used: 0,
    priceFactor,
    // Garbage comes back fast; honest nodes range from quick to slow.
    latencyMs: behaviour === 'garbage' ? 20 : 100 + random.int(7_000),
    downFor: 0,
    cheatingNow: false
  }
}

function shuffle<T> (items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    const t = items[i]!
    items[i] = items[j]!
    items[j] = t
  }
  return items
}

export function isCheater (b: Behaviour): boolean {
  return b === 'drop' || b === 'garbage' || b === 'part-time'
}
