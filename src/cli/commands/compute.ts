import type { Command } from 'commander'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { MalformedMessageError, NotFoundError } from '../../foundations/errors.ts'
import { generateKeyPair } from '../../foundations/crypto.ts'
import { parseBytes } from '../../foundations/units.ts'
import { checkTaskSpec, taskId, type ComputeOffer } from '../../core/compute/index.ts'
import { ComputeClient, inlineContentMaxBytes, type ComputeProgress } from '../../services/compute/index.ts'
import { createP2PHost } from '../../services/p2p/index.ts'
import { maxCheckpointBytes, maxInputBytes, maxModuleBytes } from '../../core/compute/constants.ts'
import { CliContext, type GlobalOptions } from '../context.ts'
import { isNetworkContent, taskSource } from './compute-content.ts'
import { positive } from '../args.ts'
import { clientAddress, describeSettlement, marketOffers, openTaskEscrow, settleTask } from './compute-market.ts'
import type { ComputeTask } from '../../core/market/compute-tasks.ts'

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/** `60s`, `1500ms`, `2m` or plain milliseconds. */
function parseDurationMs (text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (m === null) throw new MalformedMessageError(`${flag} "${text}" is not a duration: write e.g. 60s, 1500ms or 2m`)
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(m[1]) * factor)
}

/** A task as `keynet compute status` shows it. */
interface TaskRecord {
  id: string
  module: string
  input: string
  replicas: number
  outcome: unknown
  output?: string
  checkpointEveryMs: number
  providers: Array<{ provider: string, result: string, resumedFrom?: string, checkpoints: number, lastCheckpoint?: string, note?: string }>
  at: string
  /** A task run on the market: its escrow and settlement on the ledger, as it was after the run. */
  ledger?: ComputeTask
  /** `running` while the task runs (the record is written at each checkpoint stored on the network), then `done`. */
  state?: 'running' | 'done'
  /** The latest checkpoint stored on the network: `keynet compute run … --resume <cid>` goes on from it. */
  checkpoint?: string
  /** Where the time went (ms): opening the escrow, the replicated run, settling on the ledger. */
  timings?: { escrowMs: number, runMs: number, settleMs: number }
}

/** Longest note (the first line of a provider's stderr) kept in a task record. */
const maxNoteChars = 200

export function computeCommands (program: Command, globals: () => GlobalOptions): void {
  const compute = program.command('compute').description('run WebAssembly (WASI preview1) tasks on compute providers, verified by replicas')

  compute.command('run <module>')
    .description('run a task on replicas under distinct providers; the result is accepted when they agree')
    .requiredOption('--input <file|cid|key://name.key/path>', `the task's input (its stdin): a local file (over ${inlineContentMaxBytes / 1024 / 1024} MiB it is put on the network first), or content on the network, which providers fetch themselves by CID`)
    .option('--provider <multiaddr>', 'run on these compute nodes instead of offers from the ledger, /ip4/…/tcp/…/p2p/<id> (repeatable; each counts as its own operator; no escrow, no payment)', collect)
    .option('--region <region>', 'only providers in this region (market)')
    .option('--max-price <n>', 'highest price per core-second to pay (market)')
    .option('--replicas <n>', 'providers that must agree', '2')
    .option('--memory <size>', 'memory cap of the task', '256MiB')
    .option('--timeout <duration>', 'CPU-time budget (as fuel)', '60s')
    .option('--max-output <size>', 'largest output accepted', '64MiB')
    .option('--checkpoint-every <duration>', 'ask the task to checkpoint this often (its clock; the task reads KEYNET_CHECKPOINT_EVERY_MS); a provider that dies is replaced from its last checkpoint', '0')
    .option('-o, --output <file>', 'write the accepted output here (default: stdout)')
    .option('--resume <cid>', 'start every replica from this checkpoint on the network (the one `keynet compute status` shows for a task whose client went away)')
    .option('--content-replicas <n>', 'storage providers that hold a large local module or input put on the network', '2')
    .addHelpText('after', '\nExamples:\n  keynet compute run ./build/examples/hash.wasm --input data.bin --replicas 2 --provider /ip4/127.0.0.1/tcp/7711/p2p/12D3… --provider … -o result.bin\n  keynet compute run ./build/examples/train.wasm --input key://datasets.key/iris.csv --checkpoint-every 5s --provider … --provider … --provider …\n  keynet compute run ./build/examples/train.wasm --input key://datasets.key/iris.csv --resume bafkrei… --provider … --provider …')
    .action(async (modulePath: string, o: { input: string, provider?: string[], region?: string, maxPrice?: string, replicas: string, memory: string, timeout: string, maxOutput: string, checkpointEvery: string, output?: string, resume?: string, contentReplicas: string }) => {
      const ctx = new CliContext(globals())
      const contentReplicas = positive(o.contentReplicas, '--content-replicas')
      const moduleSource = await taskSource(ctx, modulePath, 'module', { maxBytes: maxModuleBytes, needBytes: true, replicas: contentReplicas })
      const inputSource = await taskSource(ctx, o.input, 'input', { maxBytes: maxInputBytes, needBytes: false, replicas: contentReplicas })
      if (o.resume !== undefined && !isNetworkContent(o.resume)) throw new MalformedMessageError(`--resume takes the CID of a checkpoint on the network (got "${o.resume}")`)
      const resumeFrom = o.resume === undefined ? undefined : (await taskSource(ctx, o.resume, 'checkpoint', { maxBytes: maxCheckpointBytes, needBytes: false, replicas: contentReplicas })).ref
      const module = moduleSource.bytes!
      const input = inputSource.bytes ?? new Uint8Array(0)
      const spec = checkTaskSpec({
        module: moduleSource.cid.toString(),
        input: inputSource.cid.toString(),
        replicas: positive(o.replicas, '--replicas'),
        memoryBytes: parseBytes(o.memory, '--memory'),
        timeoutMs: parseDurationMs(o.timeout, '--timeout'),
        maxOutputBytes: parseBytes(o.maxOutput, '--max-output'),
        checkpointEveryMs: parseDurationMs(o.checkpointEvery, '--checkpoint-every'),
        ...(o.region === undefined ? {} : { region: o.region }),
        ...(o.maxPrice === undefined ? {} : { maxPrice: positive(o.maxPrice, '--max-price') })
      })
      // Without --provider the task goes to the market: offers from the ledger, escrow, settlement.
      const onMarket = o.provider === undefined || o.provider.length === 0
      const signer = onMarket ? (await ctx.signer()).key : undefined
      const market = onMarket ? await marketOffers(ctx, o.region) : undefined
      const id = taskId(spec, signer === undefined ? 'cli' : clientAddress(signer), Date.now())
      const escrowStarted = performance.now()
      const chainId = signer === undefined ? '' : (await ctx.trustedGenesis(ctx.api())).chainId
      const escrow = signer === undefined || market === undefined ? undefined : await openTaskEscrow(ctx, signer, id, spec, market)
      const escrowMs = performance.now() - escrowStarted
      if (escrow !== undefined) process.stderr.write(`compute: task ${id} escrow ${escrow.escrow} for ${escrow.assigned.length} providers × ${escrow.units} core-seconds and a tie-breaker\n`)
      const providers = escrow !== undefined ? escrow.peers : (o.provider ?? []).map(a => {
        const peer = multiaddr(a).getComponents().find(c => c.name === 'p2p')?.value
        if (peer === undefined) throw new MalformedMessageError(`--provider ${a} needs /p2p/<peer id>`)
        return peer
      })
      const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: market?.dial ?? o.provider ?? [] })
      await host.start()
      try {
        const deadline = Date.now() + 10_000
        while (providers.some(p => !host.peers().includes(p)) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
        const offers: ComputeOffer[] = market?.offers ?? providers.map(p => ({ provider: p, operator: p, region: 'any', cores: 1, freeCores: 1, memoryBytes: spec.memoryBytes, price: 1, score: 1 }))
        const dir = join(ctx.home, 'tasks')
        mkdirSync(dir, { recursive: true })
        const started = new Date().toISOString()
        // Written at each checkpoint stored on the network, so a client that dies leaves where to resume from.
        const running = (checkpoint: string): void => {
          writeFileSync(join(dir, `${id}.json`), JSON.stringify({ id, module: spec.module.toString(), input: spec.input.toString(), replicas: spec.replicas, checkpointEveryMs: spec.checkpointEveryMs, outcome: null, providers: [], at: started, state: 'running', checkpoint } satisfies TaskRecord, null, 2))
        }
        let lastCheckpoint: string | undefined
        // Progress goes to stderr, so it shows beside --json output and -o.
        const onProgress = (e: ComputeProgress): void => {
          const line = e.kind === 'launched'
            ? `launched on ${e.provider}${e.checkpointCid !== undefined ? ` from checkpoint ${e.checkpointCid}${e.resumedFrom === undefined ? '' : ` of ${e.resumedFrom}`}` : e.resumedFrom === undefined ? '' : ` from the checkpoint of ${e.resumedFrom} (${e.checkpointBytes} bytes)`}`
            : e.kind === 'checkpoint' ? `checkpoint ${e.seq} from ${e.provider} (${e.cid === undefined ? `${e.bytes} bytes` : `stored as ${e.cid}`})`
              : e.kind === 'failed' ? `failed on ${e.provider}: ${e.reason}` : `reported by ${e.provider}: ${e.digest.slice(0, 16)}`
          process.stderr.write(`compute: ${line}\n`)
          if (e.kind === 'checkpoint' && e.cid !== undefined) {
            lastCheckpoint = e.cid
            running(e.cid)
          }
        }
        const runStarted = performance.now()
        const result = await new ComputeClient({ host }).runVerified({
          taskId: id, spec, offers, module, input, secretSeed: randomBytes(32), checkpointEveryMs: spec.checkpointEveryMs, onProgress,
          ...(moduleSource.ref === undefined ? {} : { moduleRef: moduleSource.ref }),
          ...(inputSource.ref === undefined ? {} : { inputRef: inputSource.ref }),
          ...(resumeFrom === undefined ? {} : { resumeFrom }),
          ...(escrow === undefined ? {} : { reportTaskId: id })
        })
        const runMs = performance.now() - runStarted
        const ledger = signer === undefined || market === undefined || escrow === undefined ? undefined : await settleTask(ctx, signer, id, chainId, escrow.assigned, result.reports, market)
        const settleMs = performance.now() - runStarted - runMs
        const record: TaskRecord = {
          id,
          module: spec.module.toString(),
          input: spec.input.toString(),
          replicas: spec.replicas,
          checkpointEveryMs: spec.checkpointEveryMs,
          outcome: result.outcome,
          ...(result.outputCid === undefined ? {} : { output: result.outputCid.toString() }),
          providers: [...result.reports].map(([provider, r]) => {
            const note = r.response?.stderr.split('\n')[0]?.slice(0, maxNoteChars)
            return {
              provider,
              result: r.error ?? (r.response === undefined ? 'no answer' : `${r.response.status}${r.digest === undefined ? '' : ` ${r.digest.slice(0, 16)}`}`),
              ...(r.resumedFrom === undefined ? {} : { resumedFrom: r.resumedFrom }),
              checkpoints: r.checkpoints,
              ...(r.lastCheckpoint === undefined ? {} : { lastCheckpoint: r.lastCheckpoint }),
              ...(note === undefined || note === '' ? {} : { note })
            }
          }),
          at: new Date().toISOString(),
          state: 'done',
          ...(lastCheckpoint === undefined ? {} : { checkpoint: lastCheckpoint }),
          ...(ledger === undefined ? {} : { ledger }),
          timings: { escrowMs: Math.round(escrowMs), runMs: Math.round(runMs), settleMs: Math.round(settleMs) }
        }
        writeFileSync(join(dir, `${id}.json`), JSON.stringify(record, null, 2))
        if (result.outcome.kind !== 'accepted' || result.output === undefined) {
          process.exitCode = 1
          ctx.print(record, () => [`task ${id}: unresolved (${result.outcome.kind === 'unresolved' ? result.outcome.reason : ''}); see keynet compute status ${id}`, ...(ledger === undefined ? [] : describeSettlement(ledger))].join('\n'))
          return
        }
        if (o.output !== undefined) writeFileSync(o.output, result.output)
        else if (ctx.opts.json !== true) process.stdout.write(result.output)
        if (o.output !== undefined || ctx.opts.json === true) {
          ctx.print(record, () => [`task ${id}: accepted ${result.outputCid?.toString() ?? ''} from ${result.outcome.kind === 'accepted' ? result.outcome.paid.length : 0} agreeing providers${result.outcome.kind === 'accepted' && result.outcome.slashed.length > 0 ? `; ${result.outcome.slashed.length} disagreed (not paid${ledger === undefined ? ', to be slashed' : ', slashed'})` : ''}`, ...(ledger === undefined ? [] : describeSettlement(ledger))].join('\n'))
        } else if (ledger !== undefined) {
          process.stderr.write(`${describeSettlement(ledger).join('\n')}\n`)
        }
      } finally {
        await host.stop()
      }
    })

  compute.command('status <task-id>')
    .description('what became of a task: outcome, output CID, each provider\'s answer (if run from this machine), and its escrow and settlement on the ledger')
    .action(async (id: string) => {
      const ctx = new CliContext(globals())
      let record: TaskRecord | undefined
      try {
        record = JSON.parse(readFileSync(join(ctx.home, 'tasks', `${id}.json`), 'utf8')) as TaskRecord
      } catch {
        record = undefined
      }
      // The ledger's state is the one that counts (a provider may have posted its report since).
      let ledger = record?.ledger
      if (record === undefined || ledger !== undefined) {
        try {
          ledger = await ctx.api().computeTask(id)
        } catch (err) {
          if (record === undefined) throw new NotFoundError(`no task ${id} was run from this machine (records are in ${join(ctx.home, 'tasks')}) and the ledger has none: ${(err as Error).message}`)
        }
      }
      const shown = record === undefined ? { id, ledger } : { ...record, ...(ledger === undefined ? {} : { ledger }) }
      ctx.print(shown, () => [
        ...(record === undefined
          ? [`task ${id} (on the ledger; not run from this machine)`]
          : [`task ${record.id} (${record.at})${record.state === 'running' ? ' running, or its client went away' : ''}`, `  outcome  ${JSON.stringify(record.outcome)}`, `  output   ${record.output ?? '—'}`,
              ...(record.checkpoint === undefined ? [] : [`  last checkpoint  ${record.checkpoint} (resume: keynet compute run … --resume ${record.checkpoint})`]), ...record.providers.map(p => `  ${p.provider}  ${p.result}${p.resumedFrom === undefined ? '' : `  resumed from ${p.resumedFrom}'s checkpoint`}${p.checkpoints > 0 ? `  ${p.checkpoints} checkpoints` : ''}${p.note === undefined ? '' : `  (${p.note})`}`)]),
        ...(ledger === undefined ? [] : describeSettlement(ledger))
      ].join('\n'))
    })

  compute.command('close <task-id>')
    .description('end a task on the ledger: after its deadline (or once every assigned provider reported, for its client) the rules pay what is owed and refund the rest')
    .action(async (id: string) => {
      const ctx = new CliContext(globals())
      await ctx.send({ type: 'compute-settle', taskId: id, reports: [], close: true })
      const ledger = await ctx.api().computeTask(id)
      ctx.print(ledger, () => [`task ${id} closed`, ...describeSettlement(ledger)].join('\n'))
    })
}
