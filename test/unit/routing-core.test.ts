/**
 * The pure routing core: peak-EWMA, the ejection cycle and its cap, probation, budgets, the hedge
 * delay, selection (power of two choices, region, exclusions, determinism) and snapshots, driven
 * by hand with explicit clock readings and a seeded random source.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { seededRandom } from '../../src/foundations/clock.ts'
import { MalformedMessageError } from '../../src/foundations/errors.ts'
import {
  callStarted, choose, createPool, finished, hedgeDelayMs, setProviders, snapshot, started, takeHedgeToken, takeRetryToken, TooManyProvidersError,
  type OutcomeKind, type RoutingPoolState
} from '../../src/core/routing/index.ts'
import { createPeakEwma, observeAtLeast, observeLatency, peakEwmaAt } from '../../src/core/routing/peak-ewma.ts'
import { SampleRing } from '../../src/core/routing/sample-ring.ts'
import { maxProvidersPerPool } from '../../src/core/routing/constants.ts'

const ids = (n: number): Array<{ id: string }> => Array.from({ length: n }, (_, i) => ({ id: `p${i}` }))

/** Starts and ends one attempt on `id` that took `ms`. */
function attempt (pool: RoutingPoolState, id: string, kind: OutcomeKind, at: number, ms = 10): void {
  const a = started(pool, id, at)
  finished(pool, a, kind, at + ms)
}

const stateOf = (pool: RoutingPoolState, id: string, now: number): string | undefined => snapshot(pool, now).providers.find(p => p.id === id)?.state

describe('peak-EWMA', () => {
  it('jumps to a slower sample at once, returns toward the resting value with τ, and is only raised by lower bounds', () => {
    const e = createPeakEwma(0)
    const rest = 0
    assert.equal(peakEwmaAt(e, 0, 10_000, rest), undefined)
    observeLatency(e, 20, 0, 10_000, rest)
    observeLatency(e, 200, 100, 10_000, rest)
    assert.equal(peakEwmaAt(e, 100, 10_000, rest), 200, 'a slow sample is taken at once')
    assert.ok(Math.abs(peakEwmaAt(e, 10_100, 10_000, rest)! - 200 / Math.E) < 1e-9, 'decays with time constant τ')
    observeLatency(e, 20, 10_100, 10_000, rest)
    const after = peakEwmaAt(e, 10_100, 10_000, rest)!
    assert.ok(after < 200 / Math.E && after > 20, `a fast sample pulls it down by the elapsed weight, got ${after}`)
    observeAtLeast(e, 10, 10_100, 10_000, rest)
    assert.equal(peakEwmaAt(e, 10_100, 10_000, rest), after, 'a lower bound under the estimate changes nothing')
    observeAtLeast(e, 500, 10_100, 10_000, rest)
    assert.equal(peakEwmaAt(e, 10_100, 10_000, rest), 500, 'a lower bound above it raises it')
  })

  it('an idle estimate settles at the pool\'s typical latency, from above and from below, never toward zero', () => {
    const slow = createPeakEwma(0)
    observeLatency(slow, 400, 0, 10_000, 40)
    const fast = createPeakEwma(0)
    observeLatency(fast, 5, 0, 10_000, 40)
    assert.ok(Math.abs(peakEwmaAt(slow, 10_000, 10_000, 40)! - (40 + 360 / Math.E)) < 1e-9)
    assert.ok(Math.abs(peakEwmaAt(slow, 1_000_000, 10_000, 40)! - 40) < 1e-6, 'a long-idle slow provider looks typical, not fast')
    assert.ok(Math.abs(peakEwmaAt(fast, 1_000_000, 10_000, 40)! - 40) < 1e-6, 'a long-idle fast one too')
  })
})

describe('sample ring', () => {
  it('keeps the last N samples and answers nearest-rank quantiles', () => {
    const r = new SampleRing(100)
    assert.equal(r.quantile(0.5), undefined)
    for (let i = 1; i <= 250; i++) r.push(i)
    assert.equal(r.size, 100)
    assert.equal(r.quantile(0), 151)
    assert.equal(r.quantile(0.5), 200)
    assert.equal(r.quantile(0.95), 245)
    assert.equal(r.quantile(1), 250)
  })
})

describe('ejection', () => {
  it('ejects after 3 consecutive failures, doubles the back-off, re-admits on probation, and a success makes it active', () => {
    const pool = createPool({ name: 't', providers: ids(4), now: 0 })
    attempt(pool, 'p0', 'error', 0)
    attempt(pool, 'p0', 'success', 20)
    attempt(pool, 'p0', 'error', 40)
    attempt(pool, 'p0', 'timeout', 60)
    assert.equal(stateOf(pool, 'p0', 80), 'active', 'failures not in a row do not eject')
    attempt(pool, 'p0', 'error', 80)
    const s = snapshot(pool, 100).providers[0]!
    assert.equal(s.state, 'ejected')
    assert.equal(s.ejectedUntilMs, 90 + 1000)
    assert.equal(stateOf(pool, 'p0', 1089), 'ejected')
    assert.equal(stateOf(pool, 'p0', 1090), 'probation')
    attempt(pool, 'p0', 'error', 1100)
    assert.equal(snapshot(pool, 1110).providers[0]!.ejectedUntilMs, 1110 + 2000, 'a failed probe ejects again, for twice as long')
    attempt(pool, 'p0', 'error', 3200)
    assert.equal(snapshot(pool, 3210).providers[0]!.ejectedUntilMs, 3210 + 4000)
    attempt(pool, 'p0', 'success', 7300)
    const back = snapshot(pool, 7310).providers[0]!
    assert.equal(back.state, 'active')
    assert.equal(back.ejections, 3)
    assert.equal(back.consecutiveFailures, 0)
  })

  it('caps the back-off at 60 s and starts it over after a quiet minute', () => {
    const pool = createPool({ name: 't', providers: ids(2), now: 0 })
    let t = 0
    for (let i = 0; i < 3; i++) attempt(pool, 'p0', 'error', t, 0)
    for (let i = 0; i < 8; i++) {
      t = snapshot(pool, t).providers[0]!.ejectedUntilMs!
      attempt(pool, 'p0', 'error', t, 0)
    }
    assert.equal(snapshot(pool, t).providers[0]!.ejectedUntilMs, t + 60_000)
    t += 60_000
    attempt(pool, 'p0', 'success', t, 0)
    t += 61_000
    for (let i = 0; i < 3; i++) attempt(pool, 'p0', 'error', t, 0)
    assert.equal(snapshot(pool, t).providers[0]!.ejectedUntilMs, t + 1000)
  })

  it('ejects a provider at its first wrong answer, and never counts the wrong answer as speed', () => {
    const pool = createPool({ name: 't', providers: ids(3), now: 0 })
    attempt(pool, 'p1', 'wrong', 0, 1)
    const s = snapshot(pool, 1).providers[1]!
    assert.equal(s.state, 'ejected')
    assert.equal(s.wrong, 1)
    assert.equal(s.p50Ms, undefined, 'its answer is no latency sample')
    assert.equal(s.peakEwmaMs, 1 + 100, 'a failure counts as its wait plus a typical answer from elsewhere')
  })

  it('never ejects more than half the pool, and never the last provider', () => {
    const pool = createPool({ name: 't', providers: ids(5), now: 0 })
    for (const id of ['p0', 'p1', 'p2', 'p3']) for (let i = 0; i < 5; i++) attempt(pool, id, 'error', i * 10)
    const snap = snapshot(pool, 100)
    assert.deepEqual(snap.providers.map(p => p.state), ['ejected', 'ejected', 'active', 'active', 'active'])
    const kept = snap.providers[2]!
    assert.ok(kept.cost > 3 * snap.providers[4]!.cost, 'the failing ones kept in cost far more than the healthy one')

    const single = createPool({ name: 'one', providers: ids(1), now: 0 })
    for (let i = 0; i < 10; i++) attempt(single, 'p0', 'error', i)
    assert.equal(stateOf(single, 'p0', 20), 'active')
  })
})

describe('selection', () => {
  it('never picks an ejected or excluded provider, and returns undefined when none is left', () => {
    const pool = createPool({ name: 't', providers: ids(4), now: 0 })
    for (let i = 0; i < 3; i++) attempt(pool, 'p0', 'error', 0, 0)
    const random = seededRandom(1)
    for (let i = 0; i < 500; i++) {
      const id = choose(pool, 1, random, new Set(['p1']))
      assert.ok(id === 'p2' || id === 'p3', `chose ${String(id)}`)
    }
    assert.equal(choose(pool, 1, random, new Set(['p1', 'p2', 'p3'])), undefined)
  })

  it('prefers the cheaper of two: in-flight requests and measured latency move traffic', () => {
    const pool = createPool({ name: 't', providers: ids(3), now: 0 })
    attempt(pool, 'p0', 'success', 0, 10)
    attempt(pool, 'p1', 'success', 0, 10)
    attempt(pool, 'p2', 'success', 0, 100)
    const random = seededRandom(2)
    const counts = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const id = choose(pool, 20, random)!
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    assert.equal(counts.get('p2') ?? 0, 0, 'the slowest of three loses every pair')
    // p0 busy with 3 requests: p1 now wins their pairs
    for (let i = 0; i < 3; i++) started(pool, 'p0', 20)
    let p1 = 0
    for (let i = 0; i < 1000; i++) if (choose(pool, 20, random) === 'p1') p1++
    assert.ok(p1 > 600, `p1 got ${p1} of 1000`)
  })

  it('draws the first candidate from the client\'s region, so near providers win until they cost twice as much', () => {
    const providers = [{ id: 'eu1', region: 'eu' }, { id: 'us1', region: 'us' }, { id: 'eu2', region: 'eu' }, { id: 'us2', region: 'us' }, { id: 'ap1', region: 'ap' }]
    const pool = createPool({ name: 't', providers, region: 'eu', now: 0 })
    for (const p of providers) attempt(pool, p.id, 'success', 0, 20)
    const random = seededRandom(3)
    let near = 0
    for (let i = 0; i < 2000; i++) if (choose(pool, 20, random)!.startsWith('eu')) near++
    assert.equal(near, 2000)
    // the near ones get 3× slower than the far ones: far wins
    for (const id of ['eu1', 'eu2']) attempt(pool, id, 'success', 20, 60)
    near = 0
    for (let i = 0; i < 2000; i++) if (choose(pool, 80, random)!.startsWith('eu')) near++
    assert.ok(near < 1000, `near got ${near} of 2000`)
  })

  it('gives a provider on probation a small share, one probe at a time', () => {
    const pool = createPool({ name: 't', providers: ids(5), now: 0 })
    for (let i = 0; i < 3; i++) attempt(pool, 'p0', 'error', 0, 0)
    const random = seededRandom(4)
    let probes = 0
    for (let i = 0; i < 4000; i++) if (choose(pool, 2000, random) === 'p0') probes++
    assert.ok(probes > 100 && probes < 320, `probation got ${probes} of 4000 (~5% expected)`)
    started(pool, 'p0', 2000)
    for (let i = 0; i < 1000; i++) assert.notEqual(choose(pool, 2000, random), 'p0', 'one probe in flight at a time')
  })

  it('is deterministic: the same seed gives the same choices, another seed others', () => {
    const run = (seed: number): string[] => {
      const pool = createPool({ name: 't', providers: ids(6), now: 0 })
      const random = seededRandom(seed)
      const out: string[] = []
      for (let i = 0; i < 300; i++) {
        const id = choose(pool, i, random)!
        out.push(id)
        attempt(pool, id, i % 17 === 0 ? 'error' : 'success', i, 5 + (i * 7) % 23)
      }
      return out
    }
    assert.deepEqual(run(9), run(9))
    assert.notDeepEqual(run(9), run(10))
  })
})

describe('budgets and hedge delay', () => {
  it('allows hedges on at most 5% of calls, and retries on 10% plus a few per second', () => {
    const pool = createPool({ name: 't', providers: ids(2), now: 0 })
    let hedges = 0
    for (let i = 0; i < 1000; i++) {
      callStarted(pool, 0)
      if (takeHedgeToken(pool, 0)) hedges++
    }
    assert.equal(hedges, 50)
    const retryPool = createPool({ name: 'r', providers: ids(2), now: 0 })
    let retries = 0
    for (let i = 0; i < 1000; i++) {
      callStarted(retryPool, i * 10) // 1000 calls over 10 s
      if (takeRetryToken(retryPool, i * 10)) retries++
    }
    // 10 to start with + 10% of calls + 5/s for 10 s
    assert.ok(retries >= 155 && retries <= 160, `retries ${retries}`)
    assert.equal(snapshot(retryPool, 10_000).retries, retries)
  })

  it('hedges after the pool\'s p97.5 (half the hedge budget left for outliers), floored, once it has enough answers', () => {
    const pool = createPool({ name: 't', providers: ids(2), now: 0 })
    assert.equal(hedgeDelayMs(pool), undefined)
    for (let i = 1; i <= 100; i++) attempt(pool, 'p0', 'success', 0, i)
    // the p97.5 of answers 1..100 ms, over all of them (98) or without up to 16 of the newest (82 of the first 84)
    const delay = hedgeDelayMs(pool)!
    assert.ok(delay >= 82 && delay <= 98, `hedge delay ${delay}`)
    for (let i = 0; i < 100; i++) attempt(pool, 'p0', 'success', 0, 50)
    assert.ok(hedgeDelayMs(pool)! >= 50 && hedgeDelayMs(pool)! <= 98)
    const fast = createPool({ name: 'f', providers: ids(2), now: 0 })
    for (let i = 0; i < 100; i++) attempt(fast, 'p0', 'success', 0, 1)
    assert.equal(hedgeDelayMs(fast), 10)
  })
})

describe('membership and snapshots', () => {
  it('keeps the measurements of providers that stay, and rejects bad provider lists', () => {
    const pool = createPool({ name: 't', providers: ids(3), now: 0 })
    attempt(pool, 'p1', 'success', 0, 30)
    const a = started(pool, 'p2', 0)
    setProviders(pool, [{ id: 'p1', region: 'eu' }, { id: 'p9' }], 10)
    finished(pool, a, 'success', 20) // p2 left: no effect
    const snap = snapshot(pool, 20)
    assert.deepEqual(snap.providers.map(p => p.id), ['p1', 'p9'])
    assert.equal(snap.providers[0]!.p50Ms, 30)
    assert.equal(snap.providers[0]!.region, 'eu')
    assert.throws(() => setProviders(pool, [{ id: 'a' }, { id: 'a' }], 0), MalformedMessageError)
    assert.throws(() => setProviders(pool, [{ id: '' }], 0), MalformedMessageError)
    assert.throws(() => setProviders(pool, ids(maxProvidersPerPool + 1), 0), TooManyProvidersError)
  })

  it('reports what operators need per provider', () => {
    const pool = createPool({ name: 'cid:x', providers: [{ id: 'a', region: 'eu' }, { id: 'b' }], region: 'eu', now: 0 })
    for (let i = 0; i < 100; i++) attempt(pool, 'a', 'success', i * 10, 10 + (i % 10))
    attempt(pool, 'b', 'error', 1000)
    attempt(pool, 'b', 'cancelled', 1000, 300)
    const snap = snapshot(pool, 1000)
    const [a, b] = snap.providers
    assert.equal(a!.state, 'active')
    assert.equal(a!.requests, 100)
    assert.equal(a!.ok, 100)
    assert.equal(a!.p50Ms, 14)
    assert.equal(a!.p99Ms, 19)
    assert.ok(a!.peakEwmaMs! >= 10 && a!.peakEwmaMs! <= 19)
    assert.equal(a!.errorRate, 0)
    assert.equal(b!.errors, 1)
    assert.equal(b!.cancelled, 1)
    assert.equal(b!.errorRate, 1)
    assert.equal(b!.peakEwmaMs, 300, 'a cancelled attempt raises the estimate to its elapsed time')
    attempt(pool, 'b', 'error', 1000, 400)
    assert.equal(snapshot(pool, 1400).providers[1]!.peakEwmaMs, 400 + 14, 'a failure raises it to its wait plus the pool\'s p50')
    assert.ok(b!.cost > a!.cost)
    assert.equal(snap.p50Ms, 14)
    assert.equal(snap.hedgeDelayMs, 19)
  })
})
