// Seeded: the training example is cut off again and again at budgets drawn from a seed (fuel
// makes each cut land on the same instruction on every run), each time resumed from the last
// stored checkpoint of its lineage, and must end with the model of an uninterrupted run.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { cidForBlock, rawCode } from '../../src/core/content/index.ts'
import { handOver, recordStored, shouldStore, startLineage } from '../../src/core/compute/index.ts'
import { Sandbox } from '../../src/services/compute/sandbox.ts'
import { buildExamples, irisLikeCsv } from '../../scripts/build-examples.ts'

function mulberry32 (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), s | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('compute checkpoints (seeded)', () => {
  const sandbox = new Sandbox()
  let module: Uint8Array
  before(async () => { module = readFileSync((await buildExamples()).train) })
  after(async () => { await sandbox.close() })

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: interrupted and resumed runs end with the uninterrupted model`, async () => {
      const input = new TextEncoder().encode(irisLikeCsv({ seed, options: { steps: 400, 'checkpoint-every': 20 } }))
      const whole = await sandbox.run({ module, input })
      assert.equal(whole.status, 'ok', whole.stderr)
      const random = mulberry32(seed)
      const blobs = new Map<string, Uint8Array>() // the network's content store, as far as this test needs one
      let lineage = startLineage(1, 'provider-0')
      let clockMs = 0 // virtual: one tick per checkpoint written, so storing is deterministic too
      let resumeFrom: string | undefined
      let cuts = 0
      for (let attempt = 1; ; attempt++) {
        assert.ok(attempt < 60, `seed ${seed}: no progress after ${attempt} attempts`)
        const startedAt = clockMs
        const result = await sandbox.run({
          module,
          input,
          timeoutMs: 10 + Math.floor(random() * 25), // a provider dies after this much work (10⁸ to 3.5 · 10⁸ fuel)
          checkpoint: resumeFrom === undefined ? undefined : blobs.get(resumeFrom),
          onCheckpoint: bytes => {
            clockMs++
            if (!shouldStore(lineage, clockMs, startedAt)) return
            const id = cidForBlock(rawCode, bytes).toString()
            blobs.set(id, bytes)
            lineage = recordStored(lineage, { cid: id, atMs: clockMs, provider: lineage.providers.at(-1) as string, bytes: bytes.byteLength })
          }
        })
        if (result.status === 'ok') {
          assert.ok(result.outputCid.equals(whole.outputCid), `seed ${seed}: ${new TextDecoder().decode(result.output)}`)
          break
        }
        assert.equal(result.status, 'out-of-fuel')
        cuts++
        ;({ state: lineage, resumeFrom } = handOver(lineage, `provider-${attempt}`))
      }
      assert.ok(cuts >= 1, `seed ${seed} was never cut: shorten the budgets`)
    })
  }
})
