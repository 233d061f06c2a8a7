/**
 * When content is hot: a decayed request rate per root, and decisions with hysteresis — a root
 * becomes hot above `hotPerSecond`, and cools only after its rate stays below `coolPerSecond`
 * for `coolForMs`, so a copy is not made and dropped over and over. Pure: time is passed in.
 */
import assert from 'node:assert/strict'

export interface HotContentConfig {
  /** Requests per second above which a root gets an extra copy. */
  hotPerSecond: number
  /** Below this rate (for `coolForMs`) the extra copy is dropped. */
  coolPerSecond: number
  coolForMs: number
  /** Half-life of the request rate. */
  halfLifeMs: number
  /** Roots tracked at once (least recently requested forgotten first). */
  maxTracked: number
  /** Roots hot at once. */
  maxHot: number
}

export const defaultHotContentConfig: HotContentConfig = {
  hotPerSecond: 5,
  coolPerSecond: 1,
  coolForMs: 30_000,
  halfLifeMs: 10_000,
  maxTracked: 10_000,
  maxHot: 64
}

interface Tracked { rate: number, at: number, hot: boolean, hotSince: number, coolSince: number | undefined }

export type HotDecision = { kind: 'promote' | 'demote', key: string, ratePerSecond: number, at: number }

export interface HotEntry { key: string, ratePerSecond: number, hot: boolean, hotSince?: number, coolingSince?: number }

export class HotContentTracker {
  readonly config: HotContentConfig
  private readonly tracked = new Map<string, Tracked>()

  constructor (config: Partial<HotContentConfig> = {}) {
    this.config = { ...defaultHotContentConfig, ...config }
    assert.ok(this.config.coolPerSecond < this.config.hotPerSecond, 'the cool threshold must be below the hot one')
  }

  /** Counts one request for `key` at `now`. */
  record (key: string, now: number): void {
    const t = this.tracked.get(key) ?? { rate: 0, at: now, hot: false, hotSince: 0, coolSince: undefined }
    t.rate = this.decayed(t, now) + Math.LN2 / (this.config.halfLifeMs / 1000)
    t.at = now
    this.tracked.delete(key)
    this.tracked.set(key, t)
    // On every request: forget the least recently requested root that is not hot, without copying the map.
    if (this.tracked.size > this.config.maxTracked) {
      for (const [k, v] of this.tracked) {
        if (!v.hot) { this.tracked.delete(k); break }
      }
    }
  }

  /** Which roots to copy and which copies to drop now. */
  decide (now: number): HotDecision[] {
    const out: HotDecision[] = []
    let hot = 0
    for (const t of this.tracked.values()) if (t.hot) hot++
    for (const [key, t] of this.tracked) {
      const rate = this.decayed(t, now)
      if (!t.hot && rate >= this.config.hotPerSecond && hot < this.config.maxHot) {
        t.hot = true
        t.hotSince = now
        t.coolSince = undefined
        hot++
        out.push({ kind: 'promote', key, ratePerSecond: rate, at: now })
      } else if (t.hot) {
        if (rate >= this.config.coolPerSecond) { t.coolSince = undefined; continue }
        t.coolSince ??= now
        if (now - t.coolSince >= this.config.coolForMs) {
          t.hot = false
          t.coolSince = undefined
          hot--
          out.push({ kind: 'demote', key, ratePerSecond: rate, at: now })
        }
      }
    }
    for (const [key, t] of this.tracked) if (!t.hot && this.decayed(t, now) < 0.01) this.tracked.delete(key)
    return out
  }

  /** The busiest tracked roots, hottest first (the inputs of the decisions). */
  top (now: number, n = 20): HotEntry[] {
    return [...this.tracked].map(([key, t]) => ({
      key,
      ratePerSecond: Number(this.decayed(t, now).toFixed(2)),
      hot: t.hot,
      ...(t.hot ? { hotSince: t.hotSince } : {}),
      ...(t.coolSince === undefined ? {} : { coolingSince: t.coolSince })
    })).sort((a, b) => b.ratePerSecond - a.ratePerSecond).slice(0, n)
  }

  /** The rate decays exponentially; a steady stream of r requests/s converges to r. */
  private decayed (t: Tracked, now: number): number {
    return t.rate * Math.pow(0.5, Math.max(0, now - t.at) / this.config.halfLifeMs)
  }
}
