/**
 * Runs seeded consensus simulations from the command line.
 *
 * ```
 * npm run sim -- --seeds 200                          # seeds 1..200, 4–7 validators each
 * npm run sim -- --seeds 50 --validators 7 --byzantine 2 --heights 5
 * npm run sim -- --seed 1234 --validators 4 --byzantine 1 --heights 3 --trace   # replay one
 * npm run sim -- --seeds 40 --planted-bug ignore-lock --validators 4 --byzantine 1 \
 *     --heights 30 --faults none --behaviours withhold-proposals,withhold-precommits,promiscuous
 * ```
 * Every failing seed prints its violations and exactly one command line that replays it. The
 * exit code is 1 when any seed fails.
 */
import { parseArgs } from 'node:util'
import type { PlantedBug } from '../core/consensus/types.ts'
import type { SignatureScheme } from './keys.ts'
import { byzantineBehaviours, faultProfiles, maxFaulty, scenarioFor, type ByzantineBehaviour, type ScenarioOptions } from './scenario.ts'
import { runSimulation } from './simulation.ts'

const plantedBugs: readonly PlantedBug[] = ['quorum-2f', 'ignore-lock', 'sign-before-persist']
const usage = `usage: node src/sim/cli.ts [--seeds N] [--seed S] [--validators V] [--byzantine B] [--heights H]
       [--faults ${faultProfiles.join('|')}] [--behaviours b1,b2] [--signatures fast|ed25519]
       [--planted-bug ${plantedBugs.join('|')}] [--trace] [--keep-going]
behaviours: ${byzantineBehaviours.join(', ')}`

function main (): number {
  let args
  try {
    args = parseArgs({
      options: {
        seeds: { type: 'string' },
        seed: { type: 'string' },
        validators: { type: 'string' },
        byzantine: { type: 'string' },
        heights: { type: 'string' },
        faults: { type: 'string' },
        behaviours: { type: 'string' },
        signatures: { type: 'string' },
        'planted-bug': { type: 'string' },
        trace: { type: 'boolean' },
        'keep-going': { type: 'boolean' },
        help: { type: 'boolean' }
      },
      strict: true
    }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }
  if (args.help === true) {
    console.log(usage)
    return 0
  }
  let options: ScenarioOptions
  let first: number
  let count: number
  try {
    first = int(args.seed, 'seed', 1)
    count = int(args.seeds, 'seeds', 1)
    options = {
      ...(args.validators === undefined ? {} : { validators: int(args.validators, 'validators', 4) }),
      ...(args.byzantine === undefined ? {} : { byzantine: int(args.byzantine, 'byzantine', 0) }),
      ...(args.heights === undefined ? {} : { heights: int(args.heights, 'heights', 3) }),
      ...(args.faults === undefined ? {} : { faults: oneOf(args.faults, faultProfiles, 'faults') }),
      ...(args.behaviours === undefined ? {} : { behaviours: args.behaviours.split(',').map(b => oneOf<ByzantineBehaviour>(b, byzantineBehaviours, 'behaviours')) }),
      ...(args.signatures === undefined ? {} : { signatures: oneOf<SignatureScheme>(args.signatures, ['fast', 'ed25519'], 'signatures') }),
      ...(args['planted-bug'] === undefined ? {} : { plantedBug: oneOf(args['planted-bug'], plantedBugs, 'planted-bug') })
    }
    if (options.validators !== undefined && options.validators < 1) throw new RangeError('--validators must be at least 1')
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }

  if (options.byzantine !== undefined && options.byzantine > maxFaulty(options.validators ?? 7)) {
    console.log(`note: ${options.byzantine} Byzantine validators may hold a third of the power or more; safety is then not guaranteed`)
  }
  const started = performance.now()
  let failed = 0
  let events = 0
  let virtualMs = 0
  let heights = 0
  for (let seed = first; seed < first + count; seed++) {
    const scenario = scenarioFor(seed, options)
    const t0 = performance.now()
    const result = runSimulation(scenario, {
      ...(args.trace === true ? { trace: (line: string) => console.log(line) } : {}),
      keepGoing: args['keep-going'] === true
    })
    events += result.stats.events
    virtualMs += result.stats.virtualMs
    heights += result.stats.heights
    const byz = scenario.byzantine.size === 0 ? '' : ` byzantine=${[...scenario.byzantine.values()].map(b => b.join('+')).join(',')}`
    const line = `seed ${seed}: ${scenario.validators} validators${byz}, ${result.stats.heights} heights, ` +
      `${result.stats.crashes} crashes, ${(result.stats.virtualMs / 1000).toFixed(1)}s virtual, ${Math.round(performance.now() - t0)}ms`
    if (result.ok) {
      if (count <= 20 || args.trace === true) console.log(`ok   ${line}`)
      else if ((seed - first + 1) % Math.ceil(count / 10) === 0) console.log(`...  ${seed - first + 1}/${count} seeds, ${failed} failed`)
      continue
    }
    failed++
    console.log(`FAIL ${line}`)
    for (const v of result.violations) console.log(`     ${v.kind}: ${v.message}`)
    console.log(`     replay: ${result.replay}`)
  }
  const wallMs = performance.now() - started
  console.log(`\n${count - failed}/${count} seeds passed, ${failed} failed; ${heights} heights committed in ` +
    `${(virtualMs / 1000).toFixed(0)}s of virtual time; ${events} events in ${(wallMs / 1000).toFixed(1)}s ` +
    `(${Math.round(events / (wallMs / 1000))} events/s)`)
  return failed === 0 ? 0 : 1
}

function int (value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`--${name} must be a non-negative integer`)
  return n
}

function oneOf<T extends string> (value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new RangeError(`--${name} must be one of ${allowed.join(', ')}`)
  return value as T
}

process.exitCode = main()
