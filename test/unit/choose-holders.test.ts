import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { chooseHolders } from '../../src/core/placement/choose-holders.ts'

describe('choosing holders', () => {
  it('on the devnet layout (6 nodes, 3 regions, 4 operators) 3 holders always span 3 regions and 3 operators, whatever the content', () => {
    const nodes = ([['eu-west', 0], ['us-east', 1], ['ap-south', 2], ['eu-west', 3], ['us-east', 0], ['ap-south', 1]] as const)
      .map(([region, op], i) => ({ id: `n${i}`, region, operator: `op${op}` }))
    for (let k = 0; k < 500; k++) {
      const p = chooseHolders(`content-${k}`, 3, nodes)
      assert.deepEqual([p.regions, p.operators], [3, 3], `content-${k}: ${p.holders.map(h => h.id).join(',')}`)
    }
  })
})
