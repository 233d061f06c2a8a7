/**
 * Seeded simulation of the consensus core: hundreds of networks of 4–7 validators with message
 * loss, duplication, reordering, partitions, crashes between any two actions of a step, and
 * Byzantine validators; then proof that the checker catches each planted bug.
 *
 * Any failing seed is reported with the command that replays it, e.g.
 * `npm run sim -- --seed 1234 --validators 5 --byzantine 1 --heights 3`.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import type { PlantedBug } from '../../src/core/consensus/types.ts'
import type { ViolationKind } from '../../src/sim/checker.ts'
import { scenarioFor, type ScenarioOptions } from '../../src/sim/scenario.ts'
import { runSimulation, type SimResult } from '../../src/sim/simulation.ts'

/** Runs seeds first..first+count-1 and returns the failures. */
function runSeeds (first: number, count: number, options: ScenarioOptions, keepGoing = false): { failures: SimResult[], heights: number } {
  const failures: SimResult[] = []
  let heights = 0
  for (let seed = first; seed < first + count; seed++) {
    const result = runSimulation(scenarioFor(seed, options), { keepGoing })
    heights += result.stats.heights
    if (!result.ok) failures.push(result)
  }
  return { failures, heights }
}

function report (failures: readonly SimResult[]): string {
  return failures.slice(0, 5).map(f => `seed ${f.seed}: ${f.violations.map(v => `${v.kind}: ${v.message}`).join('; ')}\n  replay: ${f.replay}`).join('\n')
}

describe('consensus simulation: safety and liveness under faults', () => {
  const suites: Array<{ name: string, first: number, count: number, options: ScenarioOptions }> = [
    { name: 'mixed faults (loss, duplication, partitions, crashes, Byzantine)', first: 1, count: 400, options: {} },
    { name: 'frequent crashes mid-step and quick restarts', first: 10_001, count: 150, options: { faults: 'crash' } },
    { name: 'long stretches of heavy loss and partitions', first: 20_001, count: 100, options: { faults: 'lossy' } },
    { name: 'the largest Byzantine share with every behaviour at once', first: 30_001, count: 40, options: { validators: 7, byzantine: 2, heights: 4, behaviours: ['equivocate', 'split-proposals', 'withhold-precommits', 'promiscuous', 'garbage', 'malformed'] } },
    { name: 'a clean network', first: 40_001, count: 20, options: { faults: 'none', heights: 10 } }
  ]
  for (const s of suites) {
    it(`${s.name}: ${s.count} seeds`, () => {
      const { failures, heights } = runSeeds(s.first, s.count, s.options)
      assert.equal(failures.length, 0, `${failures.length} of ${s.count} seeds failed:\n${report(failures)}`)
      assert.ok(heights >= s.count * 3, 'every seed commits its heights')
    })
  }

  it('runs with real ed25519 signatures too', () => {
    const { failures } = runSeeds(50_001, 4, { signatures: 'ed25519' })
    assert.equal(failures.length, 0, report(failures))
  })

  it('replays a seed exactly', () => {
    const scenario = scenarioFor(77, { faults: 'crash', byzantine: 1, validators: 5 })
    const a = runSimulation(scenario)
    const b = runSimulation(scenarioFor(77, { faults: 'crash', byzantine: 1, validators: 5 }))
    assert.deepEqual(a, b)
    assert.ok(a.stats.crashes > 0)
  })
})

describe('planted bugs are caught within the seed budget', () => {
  /**
   * Each bug gets a scenario that makes it surface, a seed budget, and the violation it must show.
   * The same scenarios without the bug are the control: they must all pass.
   */
  const cases: Array<{ bug: PlantedBug, seeds: number, options: ScenarioOptions, expect: ViolationKind, why: string }> = [
    {
      bug: 'quorum-2f',
      seeds: 10,
      options: { validators: 4, byzantine: 1, heights: 12, faults: 'none', behaviours: ['split-proposals'] },
      expect: 'agreement',
      why: 'a Byzantine proposer splits the honest nodes between two blocks and votes for both; 2f votes then decide each'
    },
    {
      bug: 'ignore-lock',
      seeds: 40,
      options: { validators: 4, byzantine: 1, heights: 30, faults: 'none', behaviours: ['withhold-proposals', 'withhold-precommits', 'promiscuous'] },
      expect: 'agreement',
      why: 'one node decides alone (a precommit went only to it), the rest move on; a new block then gets the votes of nodes locked on the decided one'
    },
    {
      bug: 'sign-before-persist',
      seeds: 20,
      options: { byzantine: 0, faults: 'crash' },
      expect: 'double-signing',
      why: 'a crash between the broadcast and its persist loses the vote; the restarted node signs another one in the same round'
    }
  ]
  for (const c of cases) {
    it(`${c.bug}: ${c.expect} within ${c.seeds} seeds (${c.why})`, () => {
      const buggy = runSeeds(1, c.seeds, { ...c.options, plantedBug: c.bug }, true)
      const caught = buggy.failures.filter(f => f.violations.some(v => v.kind === c.expect))
      assert.ok(caught.length > 0, `no ${c.expect} violation in ${c.seeds} seeds with ${c.bug}`)
      assert.ok(caught[0]?.replay.includes(`--planted-bug ${c.bug}`))
      const control = runSeeds(1, c.seeds, c.options)
      assert.equal(control.failures.length, 0, `the scenario without the bug must pass:\n${report(control.failures)}`)
    })
  }
})

describe('sim command line', () => {
  const node = process.execPath
  it('exits 0 when all seeds pass', () => {
    const out = execFileSync(node, ['src/sim/cli.ts', '--seeds', '3', '--validators', '4'], { encoding: 'utf8' })
    assert.match(out, /3\/3 seeds passed/)
  })

  it('prints one replay command per failing seed, which reproduces the failure, and exits 1', () => {
    const run = spawnSync(node, ['src/sim/cli.ts', '--seeds', '3', '--byzantine', '0', '--faults', 'crash', '--planted-bug', 'sign-before-persist'], { encoding: 'utf8' })
    assert.equal(run.status, 1)
    const replays = run.stdout.split('\n').filter(l => l.includes('replay: '))
    const failed = run.stdout.split('\n').filter(l => l.startsWith('FAIL '))
    assert.ok(failed.length > 0)
    assert.equal(replays.length, failed.length)
    const args = (replays[0] ?? '').split('replay: npm run sim -- ')[1]?.split(' ') ?? []
    const again = spawnSync(node, ['src/sim/cli.ts', ...args], { encoding: 'utf8' })
    assert.equal(again.status, 1)
    const violation = (out: string): string | undefined => out.split('\n').find(l => l.startsWith('     ') && !l.includes('replay: '))
    assert.equal(violation(again.stdout), violation(run.stdout))
  })
})
