/**
 * A compute runner's access to content on the network. It reads the module, input or checkpoint
 * a run request names by CID from their holders, verified block by block (the node's own ledger
 * view says who holds what; the content client fetches). And it stores the checkpoints its tasks
 * write as content: uploaded to `checkpointReplicas` storage providers (distinct operators and
 * regions first, as any upload) and pinned on the ledger from the runner's key.
 *
 * What grows is bounded by the rules of `core/compute/checkpoint-pins.ts`: a running task keeps
 * its latest `keptCheckpointsPerRun` pinned, a lost one its last for `endedCheckpointKeepMs`, a
 * completed one none, and the runner at most `maxPinnedCheckpoints`. The list of its pins is a
 * file, so a runner that restarts releases what the runs it lost had pinned.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex } from '../../foundations/bytes.ts'
import { MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { parseCid, readFile, stat } from '../../core/content/index.ts'
import { pinStored, releaseActions, runEnded, runsLost, type CheckpointPin, type CheckpointPinRules } from '../../core/compute/checkpoint-pins.ts'
import type { TxBody } from '../../core/ledger/types.ts'
import type { KeynetClient } from '../../sdk/keynet-client.ts'
import { scanLocal } from '../content/import-fs.ts'
import type { ContentRef } from './compute-protocol.ts'
import {
  checkpointReleaseCheckMs, checkpointReplicas, endedCheckpointKeepMs, keptCheckpointsPerRun, maxPinnedCheckpoints, unconfirmedPinForgetMs, unpinRetryMs
} from './constants.ts'

export interface TaskContentInit {
  /** A content client over the node's own ledger view and libp2p host. */
  client: Pick<KeynetClient, 'blocks' | 'upload' | 'directory'>
  /** Sends a transaction from the runner's key (pins and unpins) and returns its id; throws why it was refused. */
  send: (body: TxBody) => string
  /** Resolves once transaction `id` is final and applied; throws when it failed or did not commit in time. */
  committed: (id: string) => Promise<void>
  /** Where checkpoints are staged for upload and the list of the runner's pins is kept. */
  dir: string
  log?: (line: string) => void
}

const rules: CheckpointPinRules = {
  keptPerRun: keptCheckpointsPerRun,
  endedKeepMs: endedCheckpointKeepMs,
  maxPinned: maxPinnedCheckpoints,
  unpinRetryMs,
  unconfirmedForgetMs: unconfirmedPinForgetMs
}

export class TaskContent {
  private readonly init: TaskContentInit
  private pins: CheckpointPin[] = []
  private timer: NodeJS.Timeout | undefined
  private sweeping = false

  constructor (init: TaskContentInit) {
    this.init = init
  }

  private get listFile (): string { return join(this.init.dir, 'checkpoint-pins.json') }

  /** Loads the pins a previous run of this node left (their runs are lost) and releases what is due from now on. */
  start (): void {
    mkdirSync(this.init.dir, { recursive: true })
    let loaded: CheckpointPin[] = []
    try {
      loaded = (JSON.parse(readFileSync(this.listFile, 'utf8')) as CheckpointPin[]).filter(p => typeof p.cid === 'string' && typeof p.run === 'string' && typeof p.at === 'number')
    } catch {}
    this.pins = runsLost(loaded, Date.now(), rules)
    this.timer = setInterval(() => { void this.sweep() }, checkpointReleaseCheckMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** The file `ref` names, fetched from its holders and verified, at most `maxBytes`. */
  async read (ref: ContentRef, maxBytes: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    const cid = parseCid(ref.cid)
    const get = this.init.client.blocks(ref.root === undefined ? cid : parseCid(ref.root))
    const entry = await stat(cid, get, signal)
    if (entry.kind !== 'file') throw new MalformedMessageError(`the ${what} ${ref.cid} is a folder, not a file`)
    if (entry.size > maxBytes) throw new PayloadTooLargeError(`the ${what} ${ref.cid} is ${entry.size} bytes, more than the ${maxBytes} allowed`)
    const out = new Uint8Array(entry.size)
    let at = 0
    for await (const chunk of readFile(cid, get, { concurrency: 16, ...(signal === undefined ? {} : { signal }) })) {
      if (at + chunk.byteLength > out.byteLength) throw new MalformedMessageError(`the ${what} ${ref.cid} holds more bytes than its root declares`)
      out.set(chunk, at)
      at += chunk.byteLength
    }
    return out
  }

  /**
   * Stores one checkpoint of run `run` as content: uploaded to its holders, pinned from the
   * runner's key; older checkpoints of the run become due for release. Returns its CID.
   */
  async storeCheckpoint (run: string, bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
    const staged = join(this.init.dir, `${run}.checkpoint`)
    writeFileSync(staged, bytes)
    let result
    try {
      result = await this.init.client.upload({ source: scanLocal(staged), replicas: checkpointReplicas, contentKey: `checkpoint:${run}`, ...(signal === undefined ? {} : { signal }) })
    } finally {
      rmSync(staged, { force: true })
    }
    const cid = result.root.toString()
    // The pin keeps its holders holding it (and gets it repaired). The CID is handed out only once
    // the pin is final: a runner killed just after reporting it must not leave an unpinned
    // checkpoint, which holders drop as content the ledger does not record.
    const replicas = Math.min(checkpointReplicas, result.holders.length)
    const pinTx = this.init.send({ type: 'content-pin', cid, replicas, regions: Math.min(replicas, result.regions), holders: result.holders.map(h => fromHex(h.address)) })
    this.pins = pinStored(this.pins, run, cid, Date.now(), rules)
    this.save()
    await this.init.committed(pinTx)
    return cid
  }

  /** Run `run` ended: completed, its checkpoints are released; stopped or lost, its last is kept a while for a resume. */
  runEnded (run: string, completed: boolean): void {
    this.pins = runEnded(this.pins, run, completed, Date.now(), rules)
    this.save()
  }

  /** Checkpoints pinned by this runner whose unpin has not been sent. */
  pinned (): Array<{ cid: string, run: string, releaseAt: number | undefined }> {
    return this.pins.filter(p => p.unpinSentAt === undefined).map(p => ({ cid: p.cid, run: p.run, releaseAt: p.releaseAt }))
  }

  /** Sends the unpins that are due (once their pin is on the ledger) and forgets pins that are gone. */
  async sweep (): Promise<void> {
    if (this.sweeping) return
    this.sweeping = true
    try {
      const now = Date.now()
      const onLedger = new Set<string>()
      for (const p of this.pins) {
        if (p.releaseAt !== undefined && p.releaseAt <= now && await this.init.client.directory.pin(p.cid) !== undefined) onLedger.add(p.cid)
      }
      const actions = releaseActions(this.pins, now, cid => onLedger.has(cid), rules)
      if (actions.length === 0) return
      for (const { cid, action } of actions) {
        if (action === 'forget') { this.pins = this.pins.filter(p => p.cid !== cid); continue }
        try {
          this.init.send({ type: 'content-unpin', cid })
          this.pins = this.pins.map(p => p.cid === cid ? { ...p, unpinSentAt: now } : p)
        } catch (err) {
          this.init.log?.(`compute: unpin of checkpoint ${cid} not sent: ${(err as Error).message}`)
        }
      }
      this.save()
    } finally {
      this.sweeping = false
    }
  }

  private save (): void {
    writeFileSync(this.listFile, JSON.stringify(this.pins))
  }
}
