import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runMarketSimulation, type MarketSimOptions } from '../../src/sim/market-sim.ts'

/** A small market of the same make-up as `npm run sim:market`: a fifth of the size, fewer periods. */
const small: Partial<MarketSimOptions> = { providers: 200, operators: 40, auditors: 30, colludingAuditors: 3, periods: 50, dealsPerPeriod: 24 }

describe('market simulation (small)', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: cheaters go unpaid, honest providers unharmed, no operator over the cap, newcomers placed, bad holders replaced fast, no data lost`, () => {
      const r = runMarketSimulation({ ...small, seed })
      assert.ok(r.deals > 500, `${r.deals} deals`)
      assert.ok(r.paidUndeliveredShare <= 0.01, `paid for undelivered periods: ${r.paidUndeliveredShare}`)
      assert.ok(r.paidToCheatersShare <= 0.01, `paid to cheaters: ${r.paidToCheatersShare}`)
      assert.ok(r.honestWronglyPenalisedShare <= 0.001, `${r.honestWronglyPenalised} honest providers penalised while holding the data`)
      assert.ok(r.largestOperatorShare <= 0.2, `largest group ${r.largestOperatorGroup}: ${r.largestOperatorShare}`)
      assert.ok(r.hhi <= 1800, `HHI ${r.hhi}`)
      assert.ok(r.newcomerPlacementShare >= 0.05, `newcomers ${r.newcomerPlacementShare}`)
      assert.ok(r.replacements > 0 && (r.replacementP99 ?? Infinity) <= 2, `replacement p99 ${r.replacementP99} of ${r.replacements}`)
      assert.equal(r.dataLost, 0)
      assert.equal(r.escrow.deposited, r.escrow.paid + r.escrow.refunded + r.escrow.held)
      assert.ok(r.largestRealOperatorShare <= 0.2, `largest real operator ${r.largestRealOperatorShare}`)
    })
  }

  it('the anchor market without these rules pays cheaters, lets the split operator past the cap and loses data', () => {
    const r = runMarketSimulation({ ...small, seed: 1, unchecked: true })
    assert.ok(r.paidUndeliveredShare > 0.05, `unchecked market paid ${r.paidUndeliveredShare} for undelivered periods`)
    assert.ok(r.largestRealOperatorShare > 0.2, `largest real operator ${r.largestRealOperatorShare}`)
    assert.ok(r.dataLost > 0)
  })

  it('replays exactly per seed', () => {
    const a = runMarketSimulation({ ...small, periods: 25, seed: 9 })
    const b = runMarketSimulation({ ...small, periods: 25, seed: 9 })
    const c = runMarketSimulation({ ...small, periods: 25, seed: 10 })
    assert.deepEqual(a, b)
    assert.notDeepEqual(a.escrow, c.escrow)
  })
})
