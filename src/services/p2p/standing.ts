/**
 * Peer standing, no I/O: offences add up (weighted), decay with a half-life, and past a
 * threshold the peer is banned for a while. The host disconnects and refuses banned peers and
 * feeds the standing into gossipsub's score, so a peer in bad standing is served last.
 */
import assert from 'node:assert/strict'
import type { Clock } from '../../foundations/clock.ts'
import { defaultBanMs, defaultBanThreshold, maxTrackedPeers, offenceHalfLifeMs } from './constants.ts'

export interface PeerStandingInit {
  /** Weighted offences at which a peer is banned. */
  banThreshold?: number
  banMs?: number
  halfLifeMs?: number
  /** Records kept; past it the least recently touched one is forgotten. */
  maxTracked?: number
  clock: Clock
}

interface Record { offences: number, updatedAt: number, bannedUntil: number }

export interface Offence { offences: number, banned: boolean, newlyBanned: boolean }

export class PeerStanding {
  readonly #banThreshold: number
  readonly #banMs: number
  readonly #halfLifeMs: number
  readonly #maxTracked: number
  readonly #clock: Clock
  readonly #records = new Map<string, Record>()

  constructor (init: PeerStandingInit) {
    this.#banThreshold = init.banThreshold ?? defaultBanThreshold
    this.#banMs = init.banMs ?? defaultBanMs
    this.#halfLifeMs = init.halfLifeMs ?? offenceHalfLifeMs
    this.#maxTracked = init.maxTracked ?? maxTrackedPeers
    this.#clock = init.clock
    assert.ok(this.#banThreshold > 0 && this.#banMs >= 0 && this.#halfLifeMs > 0 && this.#maxTracked > 0)
  }

  /** Records an offence of `weight` (default 1); says whether the peer is now banned. */
  offend (peer: string, weight = 1): Offence {
    assert.ok(Number.isFinite(weight) && weight > 0)
    const now = this.#clock.now()
    const record = this.#current(peer, now) ?? { offences: 0, updatedAt: now, bannedUntil: 0 }
    const wasBanned = record.bannedUntil > now
    record.offences += weight
    record.updatedAt = now
    if (!wasBanned && record.offences >= this.#banThreshold) record.bannedUntil = now + this.#banMs
    this.#touch(peer, record)
    const banned = record.bannedUntil > now
    return { offences: record.offences, banned, newlyBanned: banned && !wasBanned }
  }

  isBanned (peer: string): boolean {
    const now = this.#clock.now()
    const record = this.#current(peer, now)
    return record !== undefined && record.bannedUntil > now
  }

  /** Decayed weighted offences (0 for an unknown peer). */
  offences (peer: string): number {
    return this.#current(peer, this.#clock.now())?.offences ?? 0
  }

  /** Peers banned now. */
  banned (): string[] {
    const now = this.#clock.now()
    return [...this.#records].filter(([, r]) => r.bannedUntil > now).map(([peer]) => peer)
  }

  /** Forgets records that have decayed to nothing and bans that have ended. */
  prune (): void {
    const now = this.#clock.now()
    for (const peer of [...this.#records.keys()]) this.#current(peer, now)
  }

  /** The record decayed to `now`, or undefined once nothing is left of it. */
  #current (peer: string, now: number): Record | undefined {
    const record = this.#records.get(peer)
    if (record === undefined) return undefined
    if (record.bannedUntil > 0 && record.bannedUntil <= now) {
      // A served ban wipes the slate.
      this.#records.delete(peer)
      return undefined
    }
    if (record.bannedUntil > now) return record
    // Halve per whole half-life elapsed: a continuous decay would leave three offences a second
    // apart at 2.99…, and a threshold of 3 would never be reached.
    const halvings = Math.floor(Math.max(0, now - record.updatedAt) / this.#halfLifeMs)
    if (halvings > 0) {
      record.offences *= 0.5 ** halvings
      record.updatedAt += halvings * this.#halfLifeMs
    }
    if (record.offences < 0.01) {
      this.#records.delete(peer)
      return undefined
    }
    return record
  }

  #touch (peer: string, record: Record): void {
    this.#records.delete(peer)
    this.#records.set(peer, record)
    while (this.#records.size > this.#maxTracked) {
      const oldest = this.#records.keys().next().value
      if (oldest === undefined) break
      this.#records.delete(oldest)
    }
  }
}
