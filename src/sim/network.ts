/**
 * The simulated network between nodes: every packet gets its own random delay (so packets
 * reorder), may be lost or duplicated while faults are active, and is dropped when a partition
 * separates sender and receiver at send time.
 */
import type { Random } from '../foundations/clock.ts'

/** Delay, loss and duplication of one run's network. */
export interface NetworkParams {
  readonly minDelayMs: number
  readonly maxDelayMs: number
  /** Probability a packet is lost while faults are active. */
  readonly lossRate: number
  /** Probability a packet is delivered twice while faults are active. */
  readonly duplicateRate: number
}

/** Decides when (and whether) each packet arrives. */
export class SimNetwork {
  private readonly params: NetworkParams
  private readonly random: Random
  /** Loss and duplication apply only while true; the simulation clears it when faults end. */
  faultsActive = true
  /** Group of each node, or null when fully connected. */
  partition: readonly number[] | null = null

  constructor (params: NetworkParams, random: Random) {
    this.params = params
    this.random = random
  }

  connected (a: number, b: number): boolean {
    return this.partition === null || this.partition[a] === this.partition[b]
  }

  /** Delays (ms) of the copies of one packet from `from` to `to` that arrive: none, one or two. */
  delays (from: number, to: number): number[] {
    if (!this.connected(from, to)) return []
    const p = this.params
    if (this.faultsActive && this.random.next() < p.lossRate) return []
    const copies = this.faultsActive && this.random.next() < p.duplicateRate ? 2 : 1
    const out: number[] = []
    for (let i = 0; i < copies; i++) out.push(p.minDelayMs + this.random.next() * (p.maxDelayMs - p.minDelayMs))
    return out
  }
}
