/**
 * One simulated run: N validators running the same consensus `step` in one process, on a virtual
 * clock, over a faulty network, with crashes (between any two actions of a step) and restarts
 * from what each node persisted, Byzantine validators, and block sync. The run is a pure function
 * of its `Scenario`: the same seed replays the same run, event for event.
 *
 * Each node's driver does what the real node does: executes actions in order (persisting the
 * signing record before the broadcast it covers), answers `need-value` with a block, applies a
 * commit and starts the next height, re-sends `gossipMessages` while it makes no progress, and
 * block-syncs from a random peer after `behind`.
 */
import { seededRandom, type Random } from '../foundations/clock.ts'
import { verifyCommitCertificate } from '../core/consensus/certificate.ts'
import { gossipMessages } from '../core/consensus/gossip.ts'
import { decodeMessage, encodeMessage } from '../core/consensus/messages.ts'
import { initialState, type ConsensusState } from '../core/consensus/state.ts'
import { step } from '../core/consensus/step.ts'
import type { ConsensusAction, ConsensusContext, ConsensusEvent, ConsensusMessage, SignedVote, SigningRecord, Validator } from '../core/consensus/types.ts'
import { blockHash, decodeBlock, genesisHash, isValidBlock, makeBlock } from './app.ts'
import { ByzantineSender } from './byzantine.ts'
import { Checker, type Violation } from './checker.ts'
import { simKeys, type SimKeys } from './keys.ts'
import { SimNetwork } from './network.ts'
import { EventQueue } from './queue.ts'
import { replayCommand, type Scenario } from './scenario.ts'
import { describeAction, describeEvent } from './trace.ts'

/** Chain id of every simulated network. */
const chainId = 'keynet-sim'

/** Blocks per sync response, as a real node bounds its replies. */
const maxSyncBlocks = 16

/** Events per run before it is declared stuck: far above what any passing run needs. */
const maxEvents = 3_000_000

/** An armed crash that finds no step with two or more actions happens anyway after this. */
const forcedCrashAfterMs = 1000

/** Heights beyond the one reached when faults end that every honest node must commit. */
const livenessHeights = 2

/** A committed block as a node stores it and serves it to block sync. */
export interface StoredBlock {
  readonly value: Uint8Array
  readonly certificate: readonly SignedVote[]
}

/** What survives a crash: committed blocks and the last persisted signing record. */
interface Disk {
  readonly blocks: StoredBlock[]
  signing: SigningRecord | undefined
}

type Packet =
  | { readonly type: 'consensus', readonly messages: readonly Uint8Array[] }
  | { readonly type: 'sync-request', readonly height: number }
  | { readonly type: 'sync-response', readonly blocks: readonly StoredBlock[] }

type SimEvent =
  | { readonly kind: 'packet', readonly from: number, readonly to: number, readonly packet: Packet }
  | { readonly kind: 'consensus', readonly node: number, readonly incarnation: number, readonly event: ConsensusEvent }
  | { readonly kind: 'tick', readonly node: number }
  | { readonly kind: 'arm-crash', readonly node: number, readonly downMs: number }
  | { readonly kind: 'force-crash', readonly node: number, readonly incarnation: number }
  | { readonly kind: 'restart', readonly node: number }
  | { readonly kind: 'partition', readonly groups: readonly number[] | null }
  | { readonly kind: 'faults-end' }

interface SimNode {
  readonly index: number
  readonly disk: Disk
  readonly ctx: ConsensusContext
  readonly byzantine: ByzantineSender | undefined
  /** Null while crashed. */
  state: ConsensusState | null
  /** Bumped on every crash, so timers of an earlier life are dropped. */
  incarnation: number
  /** (height/round/step) at the last gossip tick: unchanged means stalled. */
  lastMarker: string
  /** Height `behind` asked to sync up to. */
  syncTarget: number
  /** Set while an armed crash waits for a step to interrupt. */
  crashDownMs: number | undefined
}

/** Counters of one run; `heights` is the height every honest node reached. */
export interface SimStats {
  readonly events: number
  readonly virtualMs: number
  readonly heights: number
  readonly steps: number
  readonly evidence: number
  readonly crashes: number
}

/** The outcome of one run. */
export interface SimResult {
  readonly seed: number
  readonly ok: boolean
  readonly violations: readonly Violation[]
  readonly stats: SimStats
  /** The command that replays this run. */
  readonly replay: string
}

/** How to run a scenario (not what happens in it). */
export interface RunOptions {
  /** Receives one line per event a node handles and per action it takes. */
  readonly trace?: (line: string) => void
  /** Keep running after the first violation (to see what else breaks); default false. */
  readonly keepGoing?: boolean
}

/** Runs one scenario to its end: liveness reached, a violation, or the event budget. */
export function runSimulation (scenario: Scenario, options: RunOptions = {}): SimResult {
  return new Simulation(scenario, options).run()
}

class Simulation {
  private readonly scenario: Scenario
  private readonly random: Random
  private readonly keys: SimKeys
  private readonly validators: readonly Validator[]
  private readonly network: SimNetwork
  private readonly queue = new EventQueue<SimEvent>()
  private readonly checker: Checker
  private readonly nodes: SimNode[]
  private now = 0
  private steps = 0
  private crashes = 0
  private heightAtHeal: number | undefined
  private readonly trace: ((line: string) => void) | undefined
  private readonly keepGoing: boolean

  constructor (scenario: Scenario, options: RunOptions) {
    this.scenario = scenario
    this.trace = options.trace
    this.keepGoing = options.keepGoing ?? false
    this.random = seededRandom(scenario.seed ^ 0x5eed)
    this.keys = simKeys(scenario.signatures, scenario.validators, scenario.seed)
    this.validators = this.keys.publicKeys.map((publicKey, i) => ({ publicKey, power: scenario.powers[i] ?? 1 }))
    this.network = new SimNetwork(scenario.network, seededRandom(scenario.seed ^ 0x7e7))
    const honest = new Set(this.validators.map((_, i) => i).filter(i => !scenario.byzantine.has(i)))
    this.checker = new Checker({ honest, chainId, validators: this.validators, verify: this.keys.verify })
    this.nodes = this.validators.map((_, i) => this.makeNode(i))
  }

  run (): SimResult {
    const s = this.scenario
    for (const node of this.nodes) {
      this.queue.push(0, { kind: 'restart', node: node.index })
      this.queue.push(this.random.int(s.gossipIntervalMs), { kind: 'tick', node: node.index })
    }
    for (const p of s.partitions) {
      this.queue.push(p.startMs, { kind: 'partition', groups: p.groups })
      this.queue.push(p.endMs, { kind: 'partition', groups: null })
    }
    for (const c of s.crashes) this.queue.push(c.atMs, { kind: 'arm-crash', node: c.node, downMs: c.downMs })
    this.queue.push(s.faultsEndMs, { kind: 'faults-end' })

    let events = 0
    for (;;) {
      const next = this.queue.pop()
      if (next === undefined) { this.checker.fail('stuck', 'event queue ran dry'); break }
      this.now = next.time
      if (++events > maxEvents) { this.checker.fail('stuck', `event budget of ${maxEvents} exhausted at t=${Math.round(this.now)}ms`); break }
      this.handle(next.item)
      if ((!this.checker.ok && !this.keepGoing) || this.livenessDone()) break
    }
    return {
      seed: s.seed,
      ok: this.checker.ok,
      violations: this.checker.violations,
      stats: { events, virtualMs: Math.round(this.now), heights: this.checker.minHonestHeight(), steps: this.steps, evidence: this.checker.evidenceCount, crashes: this.crashes },
      replay: replayCommand(s)
    }
  }

  /** True once the liveness target is met; records a violation once its deadline passes. */
  private livenessDone (): boolean {
    if (this.heightAtHeal === undefined) return false
    const target = Math.max(this.scenario.heights, this.heightAtHeal + livenessHeights)
    if (this.checker.minHonestHeight() >= target) return true
    if (this.now <= this.scenario.faultsEndMs + this.scenario.livenessBoundMs) return false
    const heights = this.nodes.map(n => `${n.index}:${this.checker.heights[n.index] ?? 0}${n.state === null ? '' : `@${n.state.height}/${n.state.round}/${n.state.step}`}`)
    this.checker.fail('liveness', `faults ended at ${this.scenario.faultsEndMs}ms but honest nodes had not all committed height ${target} ${this.scenario.livenessBoundMs}ms later (committed:position ${heights.join(' ')})`)
    return true
  }

  private makeNode (index: number): SimNode {
    const s = this.scenario
    const disk: Disk = { blocks: [], signing: undefined }
    const behaviours = s.byzantine.get(index)
    const sign = this.keys.signer(index)
    const ctx: ConsensusContext = {
      chainId,
      sign,
      verify: this.keys.verify,
      validate: (height, value) => height === disk.blocks.length + 1 && isValidBlock(value, height, tipHash(disk)),
      hashValue: blockHash,
      timeouts: s.timeouts,
      ...(s.plantedBug === undefined || behaviours !== undefined ? {} : { plantedBug: s.plantedBug })
    }
    const byzantine = behaviours === undefined
      ? undefined
      : new ByzantineSender({
        behaviours,
        peers: this.peersOf(index),
        random: seededRandom(s.seed * 31 + index),
        chainId,
        publicKey: this.keys.publicKeys[index] ?? new Uint8Array(32),
        sign,
        otherKeys: this.keys.publicKeys.filter((_, i) => i !== index),
        freshBlock: (height, invalid) => makeBlock(height, tipHash(disk), index, this.random, invalid)
      })
    return { index, disk, ctx, byzantine, state: null, incarnation: 0, lastMarker: '', syncTarget: 0, crashDownMs: undefined }
  }

  private handle (e: SimEvent): void {
    switch (e.kind) {
      case 'packet': return this.deliver(e.from, e.to, e.packet)
      case 'consensus': {
        const node = this.node(e.node)
        if (node.incarnation === e.incarnation) this.stepNode(node, e.event)
        return
      }
      case 'tick': return this.tick(this.node(e.node))
      case 'arm-crash': {
        const node = this.node(e.node)
        if (node.state === null) return
        node.crashDownMs = e.downMs
        this.queue.push(this.now + forcedCrashAfterMs, { kind: 'force-crash', node: e.node, incarnation: node.incarnation })
        return
      }
      case 'force-crash': {
        const node = this.node(e.node)
        if (node.incarnation === e.incarnation && node.crashDownMs !== undefined) this.crash(node)
        return
      }
      case 'restart': return this.restart(this.node(e.node))
      case 'partition':
        this.network.partition = e.groups
        return
      case 'faults-end':
        this.network.faultsActive = false
        this.network.partition = null
        this.heightAtHeal = this.checker.maxHonestHeight()
    }
  }

  /** Runs one event through a node's core and executes the actions, possibly crashing midway. */
  private stepNode (node: SimNode, event: ConsensusEvent): void {
    if (node.state === null) return
    const { state, actions } = step(node.state, event, node.ctx)
    this.steps++
    if (this.trace !== undefined) this.traceStep(node, event, state, actions)
    node.state = state
    const crashAfter = node.crashDownMs !== undefined && actions.length >= 2 ? this.crashPoint(actions) : actions.length
    const followUps: ConsensusEvent[] = []
    for (let i = 0; i < crashAfter; i++) {
      const action = actions[i]
      if (action !== undefined) this.perform(node, action, followUps)
    }
    if (crashAfter < actions.length) return this.crash(node)
    for (const e of followUps) this.stepNode(node, e)
  }

  private traceStep (node: SimNode, event: ConsensusEvent, state: ConsensusState, actions: readonly ConsensusAction[]): void {
    const trace = this.trace
    if (trace === undefined) return
    const at = `${Math.round(this.now).toString().padStart(6)}ms n${node.index}`
    trace(`${at} ${describeEvent(event)} -> ${state.height}/${state.round}/${state.step}`)
    for (const a of actions) trace(`${at}   ${describeAction(a)}`)
  }

  /** How many actions run before an armed crash: any boundary, often right after a broadcast. */
  private crashPoint (actions: readonly ConsensusAction[]): number {
    const broadcasts = actions.flatMap((a, i) => a.type === 'broadcast' && i < actions.length - 1 ? [i + 1] : [])
    const afterBroadcast = broadcasts[this.random.int(broadcasts.length)]
    if (afterBroadcast !== undefined && this.random.next() < 0.5) return afterBroadcast
    return 1 + this.random.int(actions.length - 1)
  }

  private perform (node: SimNode, action: ConsensusAction, followUps: ConsensusEvent[]): void {
    switch (action.type) {
      case 'persist-signing':
        node.disk.signing = action.record
        return
      case 'broadcast': {
        this.checker.onBroadcast(node.index, action.message, this.now)
        if (node.byzantine !== undefined) {
          for (const send of node.byzantine.sends(action.message)) this.send(node.index, send.to, { type: 'consensus', messages: [send.bytes] })
          return
        }
        const packet: Packet = { type: 'consensus', messages: [encodeMessage(action.message)] }
        for (const to of this.peersOf(node.index)) this.send(node.index, to, packet)
        return
      }
      case 'schedule-timeout': {
        const { height, round, step: timeoutStep, delayMs } = action
        this.queue.push(this.now + delayMs, { kind: 'consensus', node: node.index, incarnation: node.incarnation, event: { type: 'timeout', height, round, step: timeoutStep } })
        return
      }
      case 'need-value':
        if (action.height === node.disk.blocks.length + 1) {
          followUps.push({ type: 'value', height: action.height, round: action.round, value: makeBlock(action.height, tipHash(node.disk), node.index, this.random) })
        }
        return
      case 'commit':
        if (action.height === node.disk.blocks.length + 1) {
          node.disk.blocks.push({ value: action.value, certificate: action.certificate })
          this.checker.onCommit(node.index, action.height, action.value, action.certificate, 'consensus', this.now)
        }
        this.queue.push(this.now + this.scenario.nextHeightDelayMs, { kind: 'consensus', node: node.index, incarnation: node.incarnation, event: this.startHeight(node) })
        return
      case 'evidence':
        this.checker.onEvidence(node.index, action.evidence, this.now)
        return
      case 'behind':
        node.syncTarget = Math.max(node.syncTarget, action.height)
        return
      case 'reject':
        if (action.penalise && typeof action.from === 'string') this.checker.onPenalty(node.index, Number(action.from), action.reason, this.now)
    }
  }

  private deliver (from: number, to: number, packet: Packet): void {
    const node = this.node(to)
    if (node.state === null) return
    switch (packet.type) {
      case 'consensus':
        for (const bytes of packet.messages) {
          if (node.byzantine !== undefined) this.byzantineObserve(node, node.byzantine, bytes)
          this.stepNode(node, { type: 'message', bytes, from: String(from) })
        }
        return
      case 'sync-request': {
        const blocks = node.disk.blocks.slice(Math.max(0, packet.height - 1), packet.height - 1 + maxSyncBlocks)
        this.send(to, from, { type: 'sync-response', blocks: node.byzantine === undefined ? blocks : blocks.map(b => this.tamper(b)) })
        return
      }
      case 'sync-response': return this.applySynced(node, packet.blocks)
    }
  }

  private byzantineObserve (node: SimNode, sender: ByzantineSender, bytes: Uint8Array): void {
    let message: ConsensusMessage
    try {
      message = decodeMessage(bytes)
    } catch {
      return
    }
    for (const send of sender.observe(message)) this.send(node.index, send.to, { type: 'consensus', messages: [send.bytes] })
  }

  /** Block sync: each block must carry a valid certificate and extend the chain. */
  private applySynced (node: SimNode, blocks: readonly StoredBlock[]): void {
    let applied = false
    for (const b of blocks) {
      const height = node.disk.blocks.length + 1
      if (decodeBlock(b.value)?.height !== height) continue
      if (!verifyCommitCertificate(chainId, this.validators, height, blockHash(b.value), b.certificate, this.keys.verify)) break
      if (!isValidBlock(b.value, height, tipHash(node.disk))) break
      node.disk.blocks.push(b)
      this.checker.onCommit(node.index, height, b.value, b.certificate, 'sync', this.now)
      applied = true
    }
    if (applied) this.stepNode(node, this.startHeight(node))
  }

  /** A Byzantine peer's sync reply: sometimes a block swapped under its certificate. */
  private tamper (b: StoredBlock): StoredBlock {
    if (this.random.next() < 0.5) return b
    const block = decodeBlock(b.value)
    if (block === undefined) return b
    return { ...b, value: makeBlock(block.height, block.parent, block.proposer, this.random) }
  }

  /** Gossip while stalled, and block sync after `behind`. */
  private tick (node: SimNode): void {
    this.queue.push(this.now + this.scenario.gossipIntervalMs, { kind: 'tick', node: node.index })
    const s = node.state
    if (s === null) return
    const marker = `${s.height}/${s.round}/${s.step}`
    if (marker === node.lastMarker && !(node.byzantine !== undefined && this.scenario.byzantine.get(node.index)?.includes('silent') === true)) {
      const messages = gossipMessages(s).map(encodeMessage)
      if (messages.length > 0) for (const to of this.peersOf(node.index)) this.send(node.index, to, { type: 'consensus', messages })
    }
    node.lastMarker = marker
    if (node.syncTarget > s.height) {
      const peers = this.peersOf(node.index)
      const peer = peers[this.random.int(peers.length)]
      if (peer !== undefined) this.send(node.index, peer, { type: 'sync-request', height: node.disk.blocks.length + 1 })
    }
  }

  private crash (node: SimNode): void {
    const downMs = node.crashDownMs ?? 0
    node.state = null
    node.crashDownMs = undefined
    node.incarnation++
    this.crashes++
    this.queue.push(this.now + downMs, { kind: 'restart', node: node.index })
  }

  /** Boot or restart from disk: the committed chain and the last persisted signing record. */
  private restart (node: SimNode): void {
    const height = node.disk.blocks.length + 1
    node.state = initialState({
      height,
      validators: this.validators,
      self: this.keys.publicKeys[node.index] ?? new Uint8Array(32),
      ...(node.disk.signing === undefined ? {} : { signingRecord: node.disk.signing })
    })
    node.lastMarker = ''
    node.syncTarget = 0
    this.stepNode(node, this.startHeight(node))
  }

  /** The next height after the node's chain, with the chain's last certificate. */
  private startHeight (node: SimNode): ConsensusEvent {
    const tip = node.disk.blocks[node.disk.blocks.length - 1]
    const event = { type: 'start-height' as const, height: node.disk.blocks.length + 1, validators: this.validators }
    return tip === undefined ? event : { ...event, lastCommit: tip.certificate }
  }

  private send (from: number, to: number, packet: Packet): void {
    for (const delay of this.network.delays(from, to)) this.queue.push(this.now + delay, { kind: 'packet', from, to, packet })
  }

  private peersOf (index: number): number[] {
    return this.validators.map((_, i) => i).filter(i => i !== index)
  }

  private node (index: number): SimNode {
    const node = this.nodes[index]
    if (node === undefined) throw new RangeError(`no node ${index}`)
    return node
  }
}

function tipHash (disk: Disk): Uint8Array {
  const tip = disk.blocks[disk.blocks.length - 1]
  return tip === undefined ? genesisHash : blockHash(tip.value)
}
