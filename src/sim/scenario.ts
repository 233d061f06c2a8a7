/**
 * A scenario: everything one simulated run does, derived from a seed and a few options. The same
 * (seed, options) always gives the same scenario, so `replayCommand` reproduces any run exactly.
 */
import { seededRandom, type Random } from '../foundations/clock.ts'
import type { PlantedBug, Timeouts } from '../core/consensus/types.ts'
import type { SignatureScheme } from './keys.ts'
import type { NetworkParams } from './network.ts'

/** What a Byzantine validator does (see byzantine.ts). */
export type ByzantineBehaviour =
  | 'silent' | 'equivocate' | 'split-proposals' | 'fresh-proposals' | 'invalid-blocks'
  | 'withhold-proposals' | 'withhold-precommits' | 'promiscuous' | 'garbage' | 'malformed'

/** Every Byzantine behaviour, for random draws and the CLI. */
export const byzantineBehaviours: readonly ByzantineBehaviour[] = [
  'silent', 'equivocate', 'split-proposals', 'fresh-proposals', 'invalid-blocks', 'withhold-proposals',
  'withhold-precommits', 'promiscuous', 'garbage', 'malformed'
]

/**
 * Fault mixes: `mixed` draws loss, duplication, partitions and crashes at random; `none` runs a
 * clean network; `crash` crashes honest nodes often and mid-step (and restarts them soon);
 * `lossy` is a long stretch of heavy loss, slow links and partitions.
 */
export type FaultProfile = 'mixed' | 'none' | 'crash' | 'lossy'
/** Every fault profile, for the CLI. */
export const faultProfiles: readonly FaultProfile[] = ['mixed', 'none', 'crash', 'lossy']

/** A network split from `startMs` until `endMs`. */
export interface Partition {
  readonly startMs: number
  readonly endMs: number
  /** Group of each node; nodes in different groups cannot reach each other. */
  readonly groups: readonly number[]
}

/** A crash of an honest node and how long it stays down. */
export interface Crash {
  readonly node: number
  /** From this time the node crashes during its next step with two or more actions. */
  readonly atMs: number
  readonly downMs: number
}

/** Everything a run does, fixed before it starts. */
export interface Scenario {
  readonly seed: number
  readonly options: ScenarioOptions
  readonly validators: number
  /** Voting power of each node's validator; Byzantine power stays below one third. */
  readonly powers: readonly number[]
  /** Byzantine validators by node index, with what each does. */
  readonly byzantine: ReadonlyMap<number, readonly ByzantineBehaviour[]>
  /** Heights every honest node must commit (at least; see simulation.ts). */
  readonly heights: number
  readonly network: NetworkParams
  readonly partitions: readonly Partition[]
  readonly crashes: readonly Crash[]
  /** After this, no loss, duplication, partition or crash; liveness is required from here. */
  readonly faultsEndMs: number
  /** Virtual time after `faultsEndMs` within which the liveness target must be met. */
  readonly livenessBoundMs: number
  readonly signatures: SignatureScheme
  readonly timeouts: Timeouts
  /** A stalled node re-sends its consensus messages this often. */
  readonly gossipIntervalMs: number
  /** Pause between a commit and the next height (as a node waits for transactions). */
  readonly nextHeightDelayMs: number
  readonly plantedBug?: PlantedBug
}

/** Choices fixed by the caller; everything else is drawn from the seed. */
export interface ScenarioOptions {
  readonly validators?: number
  readonly byzantine?: number
  readonly heights?: number
  readonly faults?: FaultProfile
  /** Every Byzantine validator does all of these (default: one or two drawn at random each). */
  readonly behaviours?: readonly ByzantineBehaviour[]
  readonly signatures?: SignatureScheme
  readonly plantedBug?: PlantedBug
}

/** Largest f with 3f < n: Byzantine power stays below one third. */
export function maxFaulty (validators: number): number {
  return Math.floor((validators - 1) / 3)
}

/** The scenario of `seed` under `options`. */
export function scenarioFor (seed: number, options: ScenarioOptions = {}): Scenario {
  const random = seededRandom(seed)
  // Every draw happens whatever the options, so an option given explicitly (as in a replay
  // command) leaves all other draws unchanged.
  const drawnValidators = 4 + random.int(4)
  const validators = options.validators ?? drawnValidators
  const drawnByzantine = random.int(maxFaulty(validators) + 1)
  const byzantineCount = options.byzantine ?? drawnByzantine
  const faults = options.faults ?? 'mixed'

  const order = shuffle(Array.from({ length: validators }, (_, i) => i), random)
  const byzantine = new Map<number, ByzantineBehaviour[]>()
  for (const index of order.slice(0, byzantineCount)) {
    const first = pick(byzantineBehaviours, random)
    const second = pick(byzantineBehaviours, random)
    const drawn = random.next() < 0.5 || first === second ? [first] : [first, second]
    byzantine.set(index, options.behaviours === undefined ? drawn : [...options.behaviours])
  }
  const honest = order.slice(byzantineCount)

  const weighted = random.next() < 1 / 3
  const powers = Array.from({ length: validators }, () => weighted ? 1 + random.int(3) : 1)
  const total = (): number => powers.reduce((a, b) => a + b, 0)
  const byzantinePower = (): number => [...byzantine.keys()].reduce((a, i) => a + (powers[i] ?? 0), 0)
  for (const i of byzantine.keys()) while (3 * byzantinePower() >= total() && (powers[i] ?? 1) > 1) powers[i] = (powers[i] ?? 1) - 1

  const network = networkFor(faults, random)
  const faultsEndMs = faults === 'none' ? 0 : faults === 'lossy' ? 4000 + random.int(3000) : 1500 + random.int(3500)
  const partitions: Partition[] = []
  const partitionCount = faults === 'none' || faults === 'crash' ? 0 : random.int(faults === 'lossy' ? 4 : 3)
  for (let i = 0; i < partitionCount; i++) {
    const startMs = random.int(Math.max(1, faultsEndMs - 300))
    const endMs = Math.min(faultsEndMs, startMs + 200 + random.int(2000))
    const groupCount = 2 + random.int(2)
    partitions.push({ startMs, endMs, groups: Array.from({ length: validators }, () => random.int(groupCount)) })
  }
  const crashes: Crash[] = []
  const crashCount = faults === 'none' || honest.length === 0 ? 0 : faults === 'crash' ? 2 + random.int(5) : random.int(3)
  for (let i = 0; i < crashCount; i++) {
    const atMs = random.int(Math.max(1, faultsEndMs - 200))
    const downMs = faults === 'crash' && random.next() < 0.5 ? random.int(50) : random.int(1500)
    const node = pick(honest, random)
    crashes.push({ node, atMs, downMs: Math.min(downMs, Math.max(0, faultsEndMs - atMs)) })
  }
  return {
    seed,
    options,
    validators,
    powers,
    byzantine,
    heights: options.heights ?? 3,
    network,
    partitions,
    crashes,
    faultsEndMs,
    livenessBoundMs: 30_000,
    signatures: options.signatures ?? 'fast',
    timeouts: { proposeMs: 300, prevoteMs: 150, precommitMs: 150, roundIncrementMs: 100 },
    gossipIntervalMs: 300,
    nextHeightDelayMs: 50,
    ...(options.plantedBug === undefined ? {} : { plantedBug: options.plantedBug })
  }
}

function networkFor (faults: FaultProfile, random: Random): NetworkParams {
  const minDelayMs = 1 + random.int(10)
  const maxDelayMs = minDelayMs + 10 + random.int(faults === 'lossy' ? 300 : 140)
  const lossRate = faults === 'none' ? 0 : faults === 'lossy' ? 0.1 + random.next() * 0.3 : pick([0, 0, 0.02, 0.1, 0.25], random)
  const duplicateRate = faults === 'none' ? 0 : pick([0, 0.05, 0.2], random)
  return { minDelayMs, maxDelayMs, lossRate, duplicateRate }
}

/** The command line that reruns exactly this scenario. */
export function replayCommand (s: Scenario): string {
  const parts = ['npm run sim --', `--seed ${s.seed}`, `--validators ${s.validators}`, `--byzantine ${s.byzantine.size}`, `--heights ${s.heights}`]
  const o = s.options
  if (o.faults !== undefined && o.faults !== 'mixed') parts.push(`--faults ${o.faults}`)
  if (o.behaviours !== undefined) parts.push(`--behaviours ${o.behaviours.join(',')}`)
  if (s.signatures !== 'fast') parts.push(`--signatures ${s.signatures}`)
  if (s.plantedBug !== undefined) parts.push(`--planted-bug ${s.plantedBug}`)
  return parts.join(' ')
}

function pick<T> (items: readonly T[], random: Random): T {
  const item = items[random.int(items.length)]
  if (item === undefined) throw new RangeError('pick from an empty list')
  return item
}

function shuffle<T> (items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    const a = items[i] as T
    items[i] = items[j] as T
    items[j] = a
  }
  return items
}
