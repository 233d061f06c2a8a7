/**
 * Keeps connections to chosen peers: dials with exponential backoff and jitter until connected,
 * and dials again when the connection drops. Bootstrap peers are kept forever; peers learned by
 * exchange are given a few attempts per disconnection and then forgotten until learned again.
 * The I/O (`dial`) and the state queries are passed in.
 */
import assert from 'node:assert/strict'
import type { Random } from '../../foundations/clock.ts'
import { dialRetryInitialMs, dialRetryMaxMs } from './constants.ts'

export interface RedialerInit {
  dial: (peer: string, addrs: string[], signal: AbortSignal) => Promise<void>
  isConnected: (peer: string) => boolean
  isBanned: (peer: string) => boolean
  log: (line: string) => void
  random: Random
  now: () => number
  /** Dial targets kept; learned peers beyond it are not added. */
  maxTargets: number
  /** Failed attempts after which a learned (non-persistent) peer is forgotten. */
  maxLearnedAttempts: number
  initialDelayMs?: number
  maxDelayMs?: number
}

interface Target {
  addrs: string[]
  persistent: boolean
  failures: number
  timer: ReturnType<typeof setTimeout> | undefined
  dialing: boolean
  connectedAt: number | undefined
}

/** A connection that lasts less than this counts as a failed attempt, so a flapping peer backs off. */
const minStableConnectionMs = 5_000

export class Redialer {
  readonly #init: RedialerInit
  readonly #targets = new Map<string, Target>()
  readonly #initialMs: number
  readonly #maxMs: number
  #controller: AbortController | undefined

  constructor (init: RedialerInit) {
    this.#init = init
    this.#initialMs = init.initialDelayMs ?? dialRetryInitialMs
    this.#maxMs = init.maxDelayMs ?? dialRetryMaxMs
    assert.ok(this.#initialMs > 0 && this.#initialMs <= this.#maxMs)
  }

  start (): void {
    this.#controller ??= new AbortController()
    for (const peer of this.#targets.keys()) this.#schedule(peer, 0)
  }

  stop (): void {
    this.#controller?.abort()
    this.#controller = undefined
    for (const target of this.#targets.values()) {
      clearTimeout(target.timer)
      target.timer = undefined
    }
  }

  /** Adds a peer to keep connected; returns false when the target list is full. */
  add (peer: string, addrs: string[], opts: { persistent: boolean }): boolean {
    const existing = this.#targets.get(peer)
    if (existing !== undefined) {
      if (opts.persistent) existing.persistent = true
      if (existing.addrs.length === 0 || opts.persistent) existing.addrs = addrs
      return true
    }
    if (!opts.persistent && this.#targets.size >= this.#init.maxTargets) return false
    this.#targets.set(peer, { addrs, persistent: opts.persistent, failures: 0, timer: undefined, dialing: false, connectedAt: undefined })
    if (this.#controller !== undefined) this.#schedule(peer, 0)
    return true
  }

  has (peer: string): boolean {
    return this.#targets.has(peer)
  }

  get size (): number {
    return this.#targets.size
  }

  onConnect (peer: string): void {
    const target = this.#targets.get(peer)
    if (target === undefined) return
    target.connectedAt = this.#init.now()
    clearTimeout(target.timer)
    target.timer = undefined
  }

  onDisconnect (peer: string): void {
    const target = this.#targets.get(peer)
    if (target === undefined || this.#controller === undefined) return
    const lasted = target.connectedAt === undefined ? 0 : this.#init.now() - target.connectedAt
    target.connectedAt = undefined
    target.failures = lasted >= minStableConnectionMs ? 0 : target.failures + 1
    if (!target.persistent && target.failures >= this.#init.maxLearnedAttempts) {
      this.#forget(peer)
      return
    }
    this.#schedule(peer, target.failures === 0 ? 0 : this.#delay(target.failures))
  }

  #forget (peer: string): void {
    const target = this.#targets.get(peer)
    if (target === undefined) return
    clearTimeout(target.timer)
    this.#targets.delete(peer)
  }

  #delay (failures: number): number {
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(failures - 1, 20))
    // ±25 % jitter, so nodes started together do not dial in lockstep.
    return Math.round(base * (0.75 + this.#init.random.next() * 0.5))
  }

  #schedule (peer: string, delayMs: number): void {
    const target = this.#targets.get(peer)
    if (target === undefined || this.#controller === undefined) return
    clearTimeout(target.timer)
    target.timer = setTimeout(() => {
      target.timer = undefined
      this.#attempt(peer).catch(err => { this.#init.log(`dial ${peer} crashed: ${String(err)}`) })
    }, delayMs)
    target.timer.unref?.()
  }

  async #attempt (peer: string): Promise<void> {
    const target = this.#targets.get(peer)
    const controller = this.#controller
    if (target === undefined || controller === undefined || target.dialing) return
    if (this.#init.isConnected(peer)) return
    if (this.#init.isBanned(peer)) {
      if (target.persistent) this.#schedule(peer, this.#maxMs)
      else this.#forget(peer)
      return
    }
    target.dialing = true
    try {
      await this.#init.dial(peer, target.addrs, controller.signal)
      target.failures = 0
    } catch (err) {
      if (controller.signal.aborted) return
      target.failures++
      if (!target.persistent && target.failures >= this.#init.maxLearnedAttempts) {
        this.#init.log(`giving up on ${peer} after ${target.failures} failed dials: ${(err as Error).message}`)
        this.#forget(peer)
        return
      }
      const delay = this.#delay(target.failures)
      if (target.failures === 1 || target.failures % 10 === 0) {
        this.#init.log(`dial ${peer} failed (${target.failures}×), retrying in ${delay} ms: ${(err as Error).message}`)
      }
      this.#schedule(peer, delay)
    } finally {
      target.dialing = false
    }
  }
}
