import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HotContentTracker } from '../../src/core/placement/hot-content.ts'

describe('hot content decisions', () => {
  it('a steady stream converges to its rate; a root over the threshold is promoted once', () => {
    const t = new HotContentTracker({ hotPerSecond: 5, coolPerSecond: 1, coolForMs: 5000, halfLifeMs: 2000 })
    let now = 0
    for (let i = 0; i < 200; i++) { t.record('busy', now); if (i % 10 === 0) t.record('quiet', now); now += 100 }
    const rate = t.top(now).find(e => e.key === 'busy')!.ratePerSecond
    assert.ok(rate > 8 && rate < 11, `10 requests/s measured as ${rate}`)
    const decisions = t.decide(now)
    assert.deepEqual(decisions.map(d => [d.kind, d.key]), [['promote', 'busy']])
    assert.deepEqual(t.decide(now + 100), [])
  })

  it('cools only after staying below the cool threshold long enough (hysteresis)', () => {
    const t = new HotContentTracker({ hotPerSecond: 5, coolPerSecond: 1, coolForMs: 5000, halfLifeMs: 1000 })
    let now = 0
    for (let i = 0; i < 100; i++) { t.record('r', now); now += 100 }
    assert.equal(t.decide(now)[0]?.kind, 'promote')
    // A rate between the thresholds keeps it hot.
    for (let i = 0; i < 60; i++) { t.record('r', now); now += 500; assert.deepEqual(t.decide(now), []) }
    // Silence: demoted once the rate stayed low for coolForMs.
    const seen: string[] = []
    for (let i = 0; i < 200; i++) { now += 100; for (const d of t.decide(now)) seen.push(d.kind) }
    assert.deepEqual(seen, ['demote'])
  })

  it('bounds what it tracks and how many roots are hot', () => {
    const t = new HotContentTracker({ maxTracked: 50, maxHot: 2, hotPerSecond: 0.5, coolPerSecond: 0.1, halfLifeMs: 1000 })
    for (let k = 0; k < 200; k++) for (let i = 0; i < 5; i++) t.record(`k${k}`, 0)
    assert.ok(t.top(0, 1000).length <= 50)
    assert.equal(t.decide(0).filter(d => d.kind === 'promote').length, 2)
  })
})
