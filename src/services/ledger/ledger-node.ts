import { EventEmitter } from 'node:events'
import { equalBytes, fromHex, toHex } from '../../foundations/bytes.ts'
import { signBytes, verifyBytes, type KeyPair } from '../../foundations/crypto.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { KeynetError, MalformedMessageError, MempoolFullError, UnavailableError } from '../../foundations/errors.ts'
import { sha256 } from '../../foundations/hash.ts'
import { maxBlockBytes, maxBlockEvidence, maxBlockTxs, maxSyncBlocksPerRequest, maxSyncResponseBytes } from '../../foundations/limits.ts'
import type { Clock } from '../../foundations/clock.ts'
import * as shape from '../../foundations/shape.ts'
import { authMapFrom } from '../../core/auth-map/index.ts'
import { blockHash, completeBlock, decodeBlock, decodeProposedBlock, encodeBlock, encodeCompactBlock, encodeHeader, type ProposedBlock } from '../../core/ledger/block.ts'
import { buildBlock, executeBlock, genesisChain, type BlockOutcome, type ChainState, type ExecutionHooks } from '../../core/ledger/chain.ts'
import { applyTx } from '../../core/ledger/apply.ts'
import { StateView } from '../../core/ledger/state.ts'
import { decodeSignedTx, senderOf, txIdHex } from '../../core/ledger/tx.ts'
import type { Block, Genesis, SignedTx } from '../../core/ledger/types.ts'
import {
  decodeCertificate, decodeMessage, decodeSigningRecord, gossipMessages, messageHeight, voteSignBytes, encodeCertificate, encodeEvidence, encodeMessage, encodeSigningRecord, evidenceId, initialState, step, verifyCommitCertificate,
  type ConsensusAction, type ConsensusContext, type ConsensusEvent, type ConsensusMessage, type ConsensusState, type SignedProposal, type Validator
} from '../../core/consensus/index.ts'
import type { LedgerStore } from '../store/ledger-store.ts'
import { Mempool } from './mempool.ts'
import { VerifiedTxs } from './verified-txs.ts'

/** What the ledger node needs from the p2p host. */
export interface LedgerNetwork {
  publish: (topic: string, data: Uint8Array) => Promise<void>
  subscribe: (topic: string, handler: (data: Uint8Array, from: string) => void, opts?: { validate?: (data: Uint8Array, from: string) => 'accept' | 'ignore' | 'reject' }) => void
  handle: (protocol: string, handler: (request: Uint8Array, from: string, signal: AbortSignal) => Promise<Uint8Array>, opts?: { maxRequestBytes?: number }) => Promise<void>
  request: (peer: string, protocol: string, data: Uint8Array, opts?: { signal?: AbortSignal, timeoutMs?: number, maxResponseBytes?: number }) => Promise<Uint8Array>
  peers: () => string[]
  penalise: (peer: string, reason: string) => void
  waitForTopicPeers: (topic: string, n: number, signal?: AbortSignal) => Promise<void>
  topicPeers: (topic: string) => string[]
}

export interface ConsensusTimeouts { proposeMs: number, prevoteMs: number, precommitMs: number, roundIncrementMs: number }

export interface LedgerNodeInit {
  genesis: Genesis
  store: LedgerStore
  network: LedgerNetwork
  clock: Clock
  /** The validator key; absent on nodes that follow the chain without voting. */
  validatorKey?: KeyPair
  log?: (line: string) => void
  timeouts?: Partial<ConsensusTimeouts>
  /** With no transactions waiting, a new block is started at most this often. */
  emptyBlockIntervalMs?: number
  /** Tx gossip is batched for this long (or until the batch is full). */
  txGossipDelayMs?: number
}

/** A committed block as announced to listeners. */
export interface CommittedBlock { height: number, hash: Uint8Array, block: Block, outcome: BlockOutcome }

/**
 * The propose timeout covers the proposer's lag: it starts the height when it has executed the
 * last block, which under load can be a second after faster peers (measured with KEYNET_TRACE=1
 * on 2 shared cores), and then builds its block. At 1 s, loaded runs changed rounds at healthy
 * heights, each costing seconds of latency; a stopped proposer now costs 1 s more per turn.
 */
const defaultTimeouts: ConsensusTimeouts = { proposeMs: 2000, prevoteMs: 500, precommitMs: 500, roundIncrementMs: 500 }
/** Blocks whose execution result is kept while consensus decides (one per round, a few rounds). */
const maxCachedOutcomes = 16
/** How far a proposed block's time may run ahead of this validator's clock. */
const maxClockDriftMs = 5_000
/** How often the mempool is swept for transactions that waited too long. */
const mempoolExpiryMs = 10_000
/** With transactions waiting, the next height starts after this pause, so a burst fills one block rather than many. */
const blockGatherMs = 10
/** Transactions waiting for admission (relayed, or submitted in API batches); bounded like the mempool. */
const maxAdmissionQueue = 20_000
/**
 * Time spent admitting transactions per event-loop turn. Consensus messages are read between
 * turns, so this bounds how long a vote waits behind signature checks however many
 * transactions are queued.
 */
const admissionSliceMs = 10
/**
 * Before building a proposal, admission runs for up to this long: under load, transactions
 * queued for admission go into this block instead of waiting for the next. The proposer's peers
 * are waiting for its proposal meanwhile, and the propose timeout is far longer.
 */
const proposeAdmissionMs = 200
/** Transactions admitted between two looks at the clock (~0.1 ms each). */
const admissionChunkTxs = 8
/** Transactions per gossip batch. */
const maxTxBatch = 512
/**
 * While transactions keep coming (the last batch left less than this long ago), a batch gathers
 * for this long instead of `txGossipDelayMs`. Each gossip message costs every validator a fixed
 * share of framing, decryption, id hashing and bookkeeping, several times over with relaying, so
 * under load fewer, larger batches save much CPU; a lone transaction still leaves quickly.
 */
const busyTxGossipDelayMs = 50
const statusPollMs = 2000
/** While consensus makes no progress, re-send what this node holds this often (Tendermint's gossip assumption over a lossy network). */
const regossipMs = 1000
/** Messages in one consensus envelope: a re-send holds at most a few rounds of votes and proposals. */
const maxMessagesPerEnvelope = 4096
/** How long start-up waits for enough peers to hear the first votes. */
const peerWaitMs = 10_000
/** How long one request for a compact proposal's missing transactions may take. */
const txFetchTimeoutMs = 1500
/** Transactions fetched for compact proposals and not yet committed, at most (then the memory is cleared). */
const maxFetchedTxs = 2 * maxBlockTxs
/** A txs-by-id reply holds at most one block's worth of transactions, plus framing. */
const maxTxsByIdReplyBytes = maxBlockBytes + 64 * 1024

/**
 * A node's ledger: the committed chain (in memory and on disk), the mempool, the consensus
 * driver that runs the pure Tendermint step function against real timers and the p2p network,
 * and block sync for a node that fell behind. Queries read the in-memory chain, which only
 * changes by whole blocks.
 */
export class LedgerNode extends EventEmitter<{ commit: [CommittedBlock] }> {
  readonly genesis: Genesis
  readonly validators: Validator[]
  readonly mempool: Mempool
  /** Signature checks remembered across mempool admission and block execution. */
  readonly verifiedTxs = new VerifiedTxs()
  private readonly init: LedgerNodeInit
  private readonly log: (line: string) => void
  private readonly topics: { consensus: string, txs: string }
  private readonly protocols: { sync: string, status: string, txsById: string }
  private readonly ctx: ConsensusContext
  private chainState: ChainState
  private lastCommit: { header: Uint8Array, certificate: Uint8Array } | undefined
  private cs: ConsensusState
  private readonly events: ConsensusEvent[] = []
  private stepping = false
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly outcomes = new Map<string, BlockOutcome & { block: Block }>()
  private readonly pendingEvidence = new Map<string, Uint8Array>()
  private readonly peerHeights = new Map<string, number>()
  private readonly waiters = new Map<string, Set<() => void>>()
  private txBatch: Uint8Array[] = []
  private txBatchTimer: NodeJS.Timeout | undefined
  private startHeightTimer: NodeJS.Timeout | undefined
  private heightWaiting: number | undefined
  private syncing = false
  private lastSyncedTxs = 0
  private running = false

  constructor (init: LedgerNodeInit) {
    super()
    this.init = init
    this.genesis = init.genesis
    this.log = init.log ?? (() => {})
    this.validators = init.genesis.validators.map(v => ({ publicKey: v.publicKey, power: v.power }))
    const chainId = init.genesis.chainId
    this.topics = { consensus: `/keynet/${chainId}/consensus/1`, txs: `/keynet/${chainId}/txs/1` }
    this.protocols = { sync: `/keynet/${chainId}/sync/1`, status: `/keynet/${chainId}/status/1`, txsById: `/keynet/${chainId}/txs-by-id/1` }
    this.chainState = this.loadChain()
    this.mempool = new Mempool({
      chainId,
      minTxFee: init.genesis.params.minTxFee,
      account: address => this.view().account(address),
      now: () => init.clock.now(),
      verifiedTxs: this.verifiedTxs
    })
    const key = init.validatorKey
    this.ctx = {
      chainId,
      sign: bytes => {
        if (key === undefined) throw new Error('a non-validator never signs votes')
        return signBytes(key.secretKey, bytes)
      },
      verify: verifyBytes,
      validate: (height, value) => this.validateValue(height, value),
      hashValue: value => this.hashValue(value),
      timeouts: { ...defaultTimeouts, ...init.timeouts }
    }
    const signingRaw = init.store.getMeta('signing')
    const isValidator = key !== undefined && this.validators.some(v => equalBytes(v.publicKey, key.publicKey))
    this.cs = initialState({
      height: this.chainState.height + 1,
      validators: this.validators,
      ...(isValidator ? { self: key.publicKey } : {}),
      ...(signingRaw === undefined ? {} : { signingRecord: decodeSigningRecord(signingRaw) })
    })
  }

  get store (): LedgerStore { return this.init.store }

  /** The committed chain state: height, last hash, ledger time and the state map. */
  get chain (): ChainState { return this.chainState }

  /** Header and certificate of the last committed block (what a light client checks). */
  get lastCommitted (): { header: Uint8Array, certificate: Uint8Array } | undefined { return this.lastCommit }

  get consensusPosition (): { height: number, round: number, step: string } {
    return { height: this.cs.height, round: this.cs.round, step: this.cs.step }
  }

  async start (): Promise<void> {
    this.running = true
    const net = this.init.network
    // Validators run before a message is forwarded, so malformed content is stopped (and its
    // sender penalised) at the first hop, and an honest relay is never blamed for it.
    net.subscribe(this.topics.consensus, (data, from) => this.onConsensusMessage(data, from), { validate: data => this.decodeConsensus(data) === undefined ? 'reject' : 'accept' })
    net.subscribe(this.topics.txs, data => this.onTxBatch(data), { validate: data => this.decodeTxBatch(data) === undefined ? 'reject' : 'accept' })
    await net.handle(this.protocols.sync, async request => this.serveSync(request), { maxRequestBytes: 64 })
    await net.handle(this.protocols.status, async () => encode({ height: this.chainState.height }), { maxRequestBytes: 64 })
    await net.handle(this.protocols.txsById, async request => this.serveTxsById(request), { maxRequestBytes: maxBlockTxs * 34 + 64 })
    this.every(statusPollMs, () => { void this.pollPeers() })
    this.every(regossipMs, () => this.regossipIfStalled())
    this.every(mempoolExpiryMs, () => {
      const dropped = this.mempool.expire()
      if (dropped > 0) this.log(`ledger: dropped ${dropped} transactions pending for too long (nonce gaps never filled?)`)
    })
    // A quorum of peers must hear this node's first votes, else the first round is lost.
    const needed = Math.max(0, Math.ceil((this.validators.length * 2) / 3) - 1)
    await net.waitForTopicPeers(this.topics.consensus, needed, AbortSignal.timeout(peerWaitMs)).catch(() => {
      this.log(`ledger: fewer than ${needed} validator peers after ${peerWaitMs} ms; starting anyway`)
    })
    this.feed(this.startHeightEvent())
    void this.pollPeers()   // a restarted node learns at once how far behind it is
    this.log(`ledger: at height ${this.chainState.height}, state root ${toHex(this.chainState.state.root).slice(0, 16)}…`)
  }

  stop (): void {
    this.running = false
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    if (this.txBatchTimer !== undefined) clearTimeout(this.txBatchTimer)
    if (this.startHeightTimer !== undefined) clearTimeout(this.startHeightTimer)
    const stopping = new UnavailableError('the node is stopping')
    for (const t of this.localAdmission.splice(0)) t.local?.({ error: errorView(stopping) })
    this.admission.length = 0
    this.queuedTxs.clear()
  }

  /**
   * Admits a transaction to the mempool and gossips it; throws the reason when it cannot be
   * admitted. A transaction that is next in its sender's sequence is first tried against the
   * committed state, so a failure the ledger would record (name taken, …) is reported at once.
   */
  submit (encoded: Uint8Array): string {
    if (this.mempool.has(encoded)) return txIdHex(encoded)
    const signed = decodeSignedTx(encoded)
    const expected = this.view().account(senderOf(signed.tx)).nonce
    if (signed.tx.nonce === expected) this.dryRun(encoded, signed)
    const id = this.mempool.add(encoded, signed)
    this.gossipTx(encoded)
    this.maybeStartWaitingHeight()
    return id
  }

  /**
   * Submits many transactions, like `submit` for each, through admission in slices (ahead of
   * relayed transactions): however large the batch, this node spends at most
   * `admissionSliceMs` per event-loop turn on admission, so consensus keeps its pace. Each
   * result is the id or the reason the transaction was refused.
   */
  async submitMany (txs: Uint8Array[]): Promise<SubmitResult[]> {
    return await Promise.all(txs.map(async encoded => await new Promise<SubmitResult>(resolve => {
      if (this.queuedForAdmission >= maxAdmissionQueue) {
        resolve({ error: errorView(new MempoolFullError(`${maxAdmissionQueue} transactions are waiting for admission; retry shortly`)) })
        return
      }
      this.localAdmission.push({ encoded, local: resolve })
      this.startAdmitting()
    })))
  }

  /** Where a transaction stands; resolves early once it commits when `waitMs` > 0. */
  async txStatus (id: string, waitMs = 0, signal?: AbortSignal): Promise<{ status: 'pending' | 'committed' | 'unknown', height?: number, index?: number, error?: { name: string, message: string } }> {
    const idBytes = shape.bytes(safeHex(id), 'transaction id', 32)
    const committed = (): ReturnType<LedgerStore['tx']> => this.init.store.tx(idBytes)
    let found = committed()
    if (found === undefined && waitMs > 0) {
      await this.waitFor(id, Math.min(waitMs, 60_000), signal)
      found = committed()
    }
    if (found !== undefined) return { status: 'committed', ...found }
    return { status: this.mempool.hasId(id) ? 'pending' : 'unknown' }
  }

  /**
   * Whether a transaction submitted now reaches the network: some peer takes this chain's
   * transaction gossip. A node that submits its own transactions waits for this first.
   */
  get canGossipTxs (): boolean {
    return this.init.network.topicPeers(this.topics.txs).length > 0
  }

  /** Highest height any peer reported. */
  get bestKnownHeight (): number {
    return Math.max(this.chainState.height, ...this.peerHeights.values())
  }

  /** A read-only view of the committed state. */
  view (): StateView {
    return new StateView(this.chainState.state)
  }

  private loadChain (): ChainState {
    const { store, genesis } = this.init
    const height = store.height()
    const base = genesisChain(genesis)
    if (height === 0) return base
    const last = store.block(height)
    if (last === undefined) throw new Error(`store reports height ${height} but has no block there`)
    const header = decodeBlock(last.block).header
    // The store holds every key written since genesis; genesis entries never written since (a
    // funded account that has not sent a transaction) come from the genesis itself. Genesis holds
    // only accounts, and accounts are never deleted, so a stored entry always supersedes.
    const entries = new Map<string, [Uint8Array, Uint8Array]>()
    for (const [key, value] of base.state.entries()) entries.set(toHex(key), [key, value])
    for (const [key, value] of store.stateEntries()) entries.set(toHex(key), [key, value])
    const state = authMapFrom(entries.values())
    if (!equalBytes(state.root, header.stateRoot)) {
      throw new Error(`the stored state does not match block ${height}'s state root; the ledger store is damaged — remove ledger.db from the data folder (keep node-key.json) to resync from peers`)
    }
    this.lastCommit = { header: encodeHeader(header), certificate: last.certificate }
    return { genesis, height, lastHash: last.hash, time: header.time, state }
  }

  private dryRun (encoded: Uint8Array, signed: SignedTx): void {
    this.verifiedTxs.signedTx(encoded, signed)
    const chain = this.chainState
    const error = applyTx(this.view(), signed.tx, {
      chainId: chain.genesis.chainId,
      height: chain.height + 1,
      time: Math.max(this.init.clock.now(), chain.time + 1),
      params: chain.genesis.params,
      feeRecipient: new Uint8Array(20),
      // The next block builds on the last one, so the market's beacon checks run at admission too.
      parentHash: chain.lastHash
    })
    if (error !== undefined) throw error
  }

  private hooks (): ExecutionHooks {
    return {
      // A relayed transaction still queued for admission was decoded on arrival: reuse that.
      signedTx: encoded => this.mempool.checkedTx(encoded, this.queuedTxs.get(txIdHex(encoded))?.signed),
      checkEvidence: encoded => evidenceId(this.genesis.chainId, this.validators, encoded, verifyBytes)
    }
  }

  // ---- consensus driver -------------------------------------------------------------------

  private feed (event: ConsensusEvent): void {
    this.events.push(event)
    if (this.stepping) return
    this.stepping = true
    try {
      for (let e = this.events.shift(); e !== undefined; e = this.events.shift()) {
        const { state, actions } = step(this.cs, e, this.ctx)
        this.cs = state
        for (const action of actions) this.perform(action)
      }
    } finally {
      this.stepping = false
    }
  }

  private perform (action: ConsensusAction): void {
    switch (action.type) {
      case 'persist-signing':
        this.init.store.putMeta('signing', encodeSigningRecord(action.record))
        return
      case 'broadcast':
        this.publishConsensus([encodeMessage(action.message)], 0)
        return
      case 'schedule-timeout': {
        const { height, round, step: s, delayMs } = action
        this.after(delayMs, () => {
          const acts = this.cs.height === height && this.cs.round === round && (s === 'precommit' ? this.cs.step !== 'decided' && this.cs.step !== 'idle' : this.cs.step === s)
          if (acts) this.trace(`timeout ${s} h=${height} r=${round}: ${s === 'propose' ? 'no valid proposal in time, prevoting nil' : s === 'prevote' ? 'no prevote quorum for one block, precommitting nil' : 'no decision, next round'}`)
          this.feed({ type: 'timeout', height, round, step: s })
        })
        return
      }
      case 'need-value':
        this.propose(action.height, action.round)
        return
      case 'commit':
        this.commit(action.height, action.value, action.hash, encodeCertificate(action.certificate))
        return
      case 'evidence': {
        const bytes = encodeEvidence(action.evidence)
        if (this.pendingEvidence.size < maxBlockEvidence) this.pendingEvidence.set(toHex(sha256(bytes)), bytes)
        this.log(`ledger: equivocation evidence recorded for ${toHex(action.evidence.first.validator).slice(0, 16)}…`)
        return
      }
      case 'reject':
        if (action.penalise && typeof action.from === 'string') this.init.network.penalise(action.from, action.reason)
        return
      case 'behind':
        void this.sync()
    }
  }

  private propose (height: number, round: number): void {
    if (height !== this.chainState.height + 1) return
    const backlog = this.queuedForAdmission
    if (backlog > 0) this.admitFor(proposeAdmissionMs)
    // Transactions this node admitted but has not gossiped yet go out first: peers receive them
    // on the same stream before the proposal, so the compact block needs no fetch for them.
    this.flushTxBatch()
    this.trace(`propose h=${height} r=${round} mempool=${this.mempool.size} admitted=${backlog - this.queuedForAdmission}`)
    const built = buildBlock(this.chainState, this.mempool.candidates(maxBlockTxs), this.init.clock.now(), this.init.validatorKey?.publicKey ?? new Uint8Array(32), this.hooks(), [...this.pendingEvidence.values()])
    for (const r of built.rejected) {
      this.mempool.remove(r.tx)
      this.log(`ledger: left out a transaction: ${r.error.name}: ${r.error.message}`)
    }
    const hash = blockHash(built.block.header)
    this.remember(hash, { ...built, block: built.block })
    // Peers hold these transactions from gossip: the proposal names them by id (a compact block).
    const value = encodeCompactBlock(built.block, built.block.txs.map(tx => fromHex(txIdHex(tx))))
    this.decodedBlocks.set(value, built.block)
    this.feed({ type: 'value', height, round, value })
  }

  private validateValue (height: number, value: Uint8Array): boolean {
    const t0 = performance.now()
    try { return this.validateValueInner(height, value) } finally { this.trace(`validate h=${height} ${(performance.now() - t0).toFixed(0)} ms`) }
  }

  private validateValueInner (height: number, value: Uint8Array): boolean {
    if (height !== this.chainState.height + 1) return false
    try {
      const block = this.blockOf(value)
      // Ledger time may only run ahead of this validator's clock by a small drift, so a
      // Byzantine proposer cannot hurry names towards expiry (Tendermint's timeliness check; the
      // deterministic rule in executeBlock bounds the step from the parent as well).
      const ahead = block.header.time - this.init.clock.now()
      if (ahead > maxClockDriftMs) {
        this.log(`ledger: rejected proposal at height ${height}: its time is ${ahead} ms ahead of this node's clock`)
        return false
      }
      const hash = this.hashValue(value)
      if (this.outcomes.has(toHex(hash))) return true
      this.remember(hash, { ...executeBlock(this.chainState, block, this.hooks()), block })
      return true
    } catch (err) {
      if (!(err instanceof KeynetError)) throw err
      this.log(`ledger: rejected proposal at height ${height}: ${err.message}`)
      return false
    }
  }

  private readonly valueHashes = new WeakMap<Uint8Array, Uint8Array>()
  /** A value's hash is its block's header hash, the same for the full and the compact form. */
  private hashValue (value: Uint8Array): Uint8Array {
    let hash = this.valueHashes.get(value)
    if (hash === undefined) {
      try {
        hash = blockHash(this.proposedOf(value).header)
      } catch {
        hash = sha256(value)   // undecodable: a hash no valid block has, so it can never gather votes
      }
      this.valueHashes.set(value, hash)
    }
    return hash
  }

  /** Decodes a proposed value (full or compact block) once, however many times it is handed over. */
  private readonly decodedProposals = new WeakMap<Uint8Array, ProposedBlock>()
  private proposedOf (value: Uint8Array): ProposedBlock {
    let proposed = this.decodedProposals.get(value)
    if (proposed === undefined) {
      proposed = decodeProposedBlock(value)
      this.decodedProposals.set(value, proposed)
    }
    return proposed
  }

  /**
   * The full block of a proposed value: a compact block's transactions come from this node's
   * mempool, admission queue, the last block, or a fetch from peers (`fetchMissingTxs`).
   * Throws `MalformedMessageError` if some are still unknown.
   */
  private readonly decodedBlocks = new WeakMap<Uint8Array, Block>()
  private blockOf (value: Uint8Array): Block {
    let block = this.decodedBlocks.get(value)
    if (block === undefined) {
      const completed = completeBlock(this.proposedOf(value), id => this.knownTx(id))
      if ('missing' in completed) throw new MalformedMessageError(`compact block: ${completed.missing.length} transactions are unknown to this node`)
      block = completed.block
      this.decodedBlocks.set(value, block)
    }
    return block
  }

  /** A transaction this node holds, by hex id, from wherever it is now. */
  private knownTx (id: string): Uint8Array | undefined {
    return this.mempool.encodedOf(id) ?? this.queuedTxs.get(id)?.encoded ?? this.fetchedTxs.get(id) ?? this.lastBlockTxs.get(id)
  }

  /** Transactions waiting in the admission queue, by hex id (compact proposals name them). */
  private readonly queuedTxs = new Map<string, { encoded: Uint8Array, signed: SignedTx }>()
  /** Transactions fetched for compact proposals, until committed (bounded by `maxFetchedTxs`). */
  private readonly fetchedTxs = new Map<string, Uint8Array>()
  /** The last committed block's transactions, for peers that fetch them late. */
  private lastBlockTxs = new Map<string, Uint8Array>()

  /** The ids of a compact proposal's transactions this node does not hold (none for a full block). */
  private missingTxs (value: Uint8Array): Uint8Array[] {
    if (this.decodedBlocks.has(value)) return []
    const proposed = this.proposedOf(value)
    if (proposed.txIds === undefined) return []
    return proposed.txIds.filter(id => this.knownTx(toHex(id)) === undefined)
  }

  /**
   * Asks peers for transactions by id: first the peer that relayed the proposal (it holds them
   * if it could validate it), then the others. Answers are kept only if they hash to an id
   * asked for; signatures are checked when the block executes.
   */
  private async fetchMissingTxs (ids: Uint8Array[], first: string): Promise<void> {
    const net = this.init.network
    let wanted = ids
    for (const peer of [first, ...net.peers().filter(p => p !== first)]) {
      if (wanted.length === 0 || !this.running) return
      try {
        const reply = shape.list(decode(await net.request(peer, this.protocols.txsById, encode(wanted), { timeoutMs: txFetchTimeoutMs, maxResponseBytes: maxTxsByIdReplyBytes })), 'txs-by-id reply', wanted.length)
        const asked = new Set(wanted.map(id => toHex(id)))
        for (const item of reply) {
          const tx = shape.bytes(item, 'txs-by-id reply[]')
          const id = txIdHex(tx)
          if (!asked.has(id)) throw new MalformedMessageError('txs-by-id reply holds a transaction not asked for')
          if (this.fetchedTxs.size >= maxFetchedTxs) this.fetchedTxs.clear()
          this.fetchedTxs.set(id, tx)
        }
      } catch (err) {
        if (err instanceof MalformedMessageError) net.penalise(peer, err.message)
        this.log(`ledger: fetching ${wanted.length} transactions from ${peer.slice(-8)} failed: ${(err as Error).message}`)
      }
      wanted = wanted.filter(id => this.knownTx(toHex(id)) === undefined)
    }
    if (wanted.length > 0) this.log(`ledger: ${wanted.length} transactions of a compact proposal are unknown to every peer`)
  }

  private serveTxsById (request: Uint8Array): Uint8Array {
    const ids = shape.list(decode(request), 'txs-by-id request', maxBlockTxs).map(id => shape.bytes(id, 'txs-by-id request[]', 32))
    const found: Uint8Array[] = []
    let bytes = 0
    for (const id of ids) {
      const tx = this.knownTx(toHex(id))
      if (tx === undefined) continue
      bytes += tx.byteLength + 8
      if (bytes > maxBlockBytes) break
      found.push(tx)
    }
    return encode(found)
  }

  private remember (hash: Uint8Array, outcome: BlockOutcome & { block: Block }): void {
    if (this.outcomes.size >= maxCachedOutcomes) {
      const oldest = this.outcomes.keys().next().value
      if (oldest !== undefined) this.outcomes.delete(oldest)
    }
    this.outcomes.set(toHex(hash), outcome)
  }

  private commit (height: number, value: Uint8Array, hash: Uint8Array, certificate: Uint8Array): void {
    if (height !== this.chainState.height + 1) return
    let outcome = this.outcomes.get(toHex(hash))
    if (outcome === undefined) {
      let block: Block
      try {
        block = this.blockOf(value)
      } catch (err) {
        // A quorum committed a compact block whose transactions this node lacks: the peers that
        // committed it serve it whole by block sync.
        if (!(err instanceof KeynetError)) throw err
        this.log(`ledger: cannot rebuild committed block ${height} (${err.message}); syncing it`)
        void this.pollPeers()
        return
      }
      outcome = { ...executeBlock(this.chainState, block, this.hooks()), block }
    }
    this.applyCommitted(height, hash, encodeBlock(outcome.block), certificate, outcome)
    this.scheduleNextHeight()
  }

  private applyCommitted (height: number, hash: Uint8Array, value: Uint8Array, certificate: Uint8Array, outcome: BlockOutcome & { block: Block }): void {
    const { block } = outcome
    const ids = block.txs.map(txIdHex)
    const txRecords = block.txs.map((_, i) => {
      const id = fromHex(ids[i] ?? '')
      const error = outcome.results[i]?.error
      return error === undefined ? { id, index: i } : { id, index: i, error }
    })
    this.init.store.commitBlock({ height, hash, block: value, certificate }, outcome.changes, txRecords)
    this.chainState = outcome.chain
    this.lastCommit = { header: encodeHeader(block.header), certificate }
    this.outcomes.clear()
    this.lastBlockTxs = new Map(block.txs.map((tx, i) => [ids[i] ?? '', tx]))
    // Fetched transactions may belong to a proposal for a later height, already received.
    if (this.fetchedTxs.size > 0) for (const id of ids) this.fetchedTxs.delete(id)
    this.mempool.pruneCommitted(block.txs)
    this.dropQueuedCommitted(ids)
    for (const e of block.evidence) this.pendingEvidence.delete(toHex(sha256(e)))
    if (this.waiters.size > 0) for (const id of ids) this.wake(id)
    this.emit('commit', { height, hash, block, outcome })
    this.trace(`commit h=${height} r=${this.cs.round} txs=${block.txs.length} mempool=${this.mempool.size} admission=${this.queuedForAdmission} sigchecks=${this.verifiedTxs.signatureChecks}`)
  }

  /**
   * After a commit the next height starts when there is a reason: a short gathering pause once
   * transactions wait (so a burst fills one block, not many), at once when a peer is already
   * there, else after the empty-block interval. Always through the event loop: a one-validator
   * chain would otherwise commit block after block inside one call and never serve I/O.
   */
  private scheduleNextHeight (): void {
    this.heightWaiting = this.chainState.height + 1
    this.startHeightDue = Number.POSITIVE_INFINITY
    this.scheduleStart(this.mempool.hasCandidates() ? blockGatherMs : this.init.emptyBlockIntervalMs ?? 1000)
  }

  private startHeightDue = Number.POSITIVE_INFINITY
  private scheduleStart (delayMs: number): void {
    if (this.heightWaiting === undefined) return
    const due = performance.now() + delayMs
    if (due >= this.startHeightDue) return
    this.startHeightDue = due
    if (this.startHeightTimer !== undefined) clearTimeout(this.startHeightTimer)
    this.startHeightTimer = setTimeout(() => this.startWaitingHeight(), delayMs)
  }

  /** New transactions: start the waiting height after the gathering pause. */
  private maybeStartWaitingHeight (): void {
    this.scheduleStart(blockGatherMs)
  }

  /** Whether a message is a vote validly signed by a member of the validator set (not a stranger's). */
  private isValidatorVote (message: ConsensusMessage): boolean {
    if (message.type !== 'vote') return false
    const { vote } = message
    return this.validators.some(v => equalBytes(v.publicKey, vote.validator)) &&
      verifyBytes(vote.validator, voteSignBytes(this.genesis.chainId, vote), vote.signature)
  }

  /** A validator is already voting at the next height: join it now. */
  private joinWaitingHeight (): void {
    this.scheduleStart(0)
  }

  private startWaitingHeight (): void {
    const height = this.heightWaiting
    if (height === undefined || !this.running) return
    this.heightWaiting = undefined
    if (this.startHeightTimer !== undefined) clearTimeout(this.startHeightTimer)
    this.startHeightTimer = undefined
    if (height === this.chainState.height + 1) this.feed({ type: 'start-height', height, validators: this.validators })
  }

  /**
   * Consensus gossip carries `[round, messages]` envelopes. A plain broadcast uses round 0 so
   * that the same message published twice is deduplicated by the network; a re-send uses a fresh
   * round number so it gets through to peers that lost the first copy.
   */
  private publishConsensus (messages: Uint8Array[], resendRound: number): void {
    if (messages.length === 0) return
    this.init.network.publish(this.topics.consensus, encode([resendRound, messages])).catch(err => this.log(`ledger: broadcast failed: ${(err as Error).message}`))
  }

  private lastPosition = ''
  private resendRound = 0
  private regossipIfStalled (): void {
    const position = `${this.cs.height}/${this.cs.round}/${this.cs.step}/${this.chainState.height}`
    if (position === this.lastPosition) this.publishConsensus(gossipMessages(this.cs).map(encodeMessage), ++this.resendRound)
    this.lastPosition = position
  }

  private readonly decoded = new WeakMap<Uint8Array, ConsensusMessage[]>()
  /** Decodes a consensus envelope (cached for the handler), or undefined if malformed. */
  private decodeConsensus (data: Uint8Array): ConsensusMessage[] | undefined {
    const cached = this.decoded.get(data)
    if (cached !== undefined) return cached
    try {
      const envelope = shape.list(decode(data), 'consensus envelope', 2)
      shape.uint(envelope[0], 'consensus envelope round')
      const messages = shape.list(envelope[1], 'consensus messages', maxMessagesPerEnvelope).map(m => decodeMessage(shape.bytes(m, 'consensus message')))
      this.decoded.set(data, messages)
      return messages
    } catch {
      return undefined
    }
  }

  private onConsensusMessage (data: Uint8Array, from: string): void {
    for (const message of this.decodeConsensus(data) ?? []) {
      if (this.heightWaiting !== undefined && messageHeight(message) === this.heightWaiting && this.isValidatorVote(message)) this.joinWaitingHeight()
      if (message.type === 'proposal') this.onProposal(message.proposal, from)
      else this.feed({ type: 'vote', vote: message.vote, from })
    }
  }

  /** Proposals whose missing transactions are being fetched, by value hash. */
  private readonly fetching = new Set<string>()
  /**
   * Feeds a proposal to consensus once its block is complete: a compact block naming
   * transactions this node has not received yet waits for them to be fetched (consensus
   * validates a proposal once, on arrival).
   */
  private onProposal (proposal: SignedProposal, from: string): void {
    const feed = (): void => this.feed({ type: 'proposal', proposal, from })
    // A proposal for a later height is kept by consensus and validated when this node gets there.
    if (proposal.height <= this.chainState.height) { feed(); return }
    let missing: Uint8Array[]
    try { missing = this.missingTxs(proposal.value) } catch { feed(); return }   // malformed: consensus rejects it
    if (missing.length === 0) { feed(); return }
    const key = toHex(this.hashValue(proposal.value))
    if (this.fetching.has(key)) return   // the fetch under way feeds it
    this.fetching.add(key)
    this.trace(`fetching ${missing.length} transactions of proposal h=${proposal.height} r=${proposal.round}`)
    void this.fetchMissingTxs(missing, from).finally(() => {
      this.fetching.delete(key)
      if (this.running) feed()
    })
  }

  // ---- transaction gossip -----------------------------------------------------------------

  private lastTxFlush = Number.NEGATIVE_INFINITY
  private gossipTx (encoded: Uint8Array): void {
    this.txBatch.push(encoded)
    if (this.txBatch.length >= maxTxBatch) { this.flushTxBatch(); return }
    const busy = performance.now() - this.lastTxFlush < busyTxGossipDelayMs
    this.txBatchTimer ??= setTimeout(() => this.flushTxBatch(), busy ? busyTxGossipDelayMs : this.init.txGossipDelayMs ?? 10)
  }

  private flushTxBatch (): void {
    if (this.txBatchTimer !== undefined) clearTimeout(this.txBatchTimer)
    this.txBatchTimer = undefined
    if (this.txBatch.length === 0) return
    this.lastTxFlush = performance.now()
    const batch = this.txBatch
    this.txBatch = []
    this.init.network.publish(this.topics.txs, encode(batch)).catch(err => this.log(`ledger: tx gossip failed: ${(err as Error).message}`))
  }

  private readonly decodedBatches = new WeakMap<Uint8Array, Array<{ encoded: Uint8Array, signed: SignedTx }>>()
  /**
   * Decodes a gossiped transaction batch (cached for the handler), or undefined if it is
   * malformed or for another chain: such a batch is not forwarded and its sender is penalised.
   * Signatures are checked at admission, in slices, not here on the forwarding path.
   */
  private decodeTxBatch (data: Uint8Array): Array<{ encoded: Uint8Array, signed: SignedTx }> | undefined {
    const cached = this.decodedBatches.get(data)
    if (cached !== undefined) return cached
    try {
      const txs = shape.list(decode(data), 'tx batch', maxTxBatch).map(t => {
        const encoded = shape.bytes(t, 'tx')
        const signed = decodeSignedTx(encoded)
        if (signed.tx.chainId !== this.genesis.chainId) throw new MalformedMessageError('transaction for another chain')
        return { encoded, signed }
      })
      this.decodedBatches.set(data, txs)
      return txs
    } catch {
      return undefined
    }
  }

  /**
   * Queues relayed transactions for admission. Checking a signature costs ~0.1 ms, so a burst of
   * relayed batches is admitted in slices between other events: consensus messages never wait
   * behind thousands of signature checks. Past the queue bound, relayed transactions are dropped
   * (the submitting node still holds them and proposes them itself).
   */
  private onTxBatch (data: Uint8Array): void {
    for (const t of this.decodeTxBatch(data) ?? []) {
      if (this.queuedForAdmission >= maxAdmissionQueue) break
      this.admission.push(t)
      this.queuedTxs.set(txIdHex(t.encoded), t)
    }
    this.startAdmitting()
  }

  /** Relayed transactions (decoded on the gossip path) waiting for admission. */
  private readonly admission: Array<{ encoded: Uint8Array, signed?: SignedTx, local?: (result: SubmitResult) => void }> = []
  /**
   * Transactions submitted to this node's API, admitted before relayed ones: no other node has
   * them until this one admits and gossips them, while relayed ones are already on their way to
   * every proposer (and a proposal holding them gets them checked at once).
   */
  private readonly localAdmission: Array<{ encoded: Uint8Array, local: (result: SubmitResult) => void }> = []
  private get queuedForAdmission (): number { return this.admission.length + this.localAdmission.length }
  private admitting = false
  private startAdmitting (): void {
    if (this.admitting) return
    this.admitting = true
    setImmediate(() => this.admitSlice())
  }

  private admitSlice (): void {
    this.admitFor(admissionSliceMs)
    this.maybeStartWaitingHeight()
    if (this.queuedForAdmission > 0 && this.running) setImmediate(() => this.admitSlice())
    else this.admitting = false
  }

  /**
   * Drops relayed transactions a block just committed from the admission queue. Under load a
   * validator often meets a transaction first inside a proposal (and checks it there); admitting
   * the queued copy afterwards would only find its nonce used, after thousands of such checks
   * delayed the transactions still waiting.
   */
  private dropQueuedCommitted (ids: string[]): void {
    if (this.queuedTxs.size === 0) return
    const committed = new Set<string>()
    for (const id of ids) if (this.queuedTxs.delete(id)) committed.add(id)
    if (committed.size === 0) return
    let kept = 0
    for (const t of this.admission) {
      if (!committed.has(txIdHex(t.encoded))) this.admission[kept++] = t
    }
    this.admission.length = kept
  }

  /** Admits queued transactions for about `ms` milliseconds. */
  private admitFor (ms: number): void {
    const deadline = performance.now() + ms
    do {
      const queue = this.localAdmission.length > 0 ? this.localAdmission : this.admission
      for (const t of queue.splice(0, admissionChunkTxs)) this.admit(t)
    } while (this.queuedForAdmission > 0 && performance.now() < deadline)
  }

  private admit (t: { encoded: Uint8Array, signed?: SignedTx, local?: (result: SubmitResult) => void }): void {
    this.queuedTxs.delete(txIdHex(t.encoded))
    if (t.local !== undefined) {
      let result: SubmitResult
      try { result = { id: this.submit(t.encoded) } } catch (err) { result = { error: errorView(err as Error) } }
      t.local(result)
      return
    }
    try {
      this.mempool.add(t.encoded, t.signed)
    } catch (err) {
      if (!(err instanceof KeynetError)) throw err
    }
  }

  // ---- block sync -------------------------------------------------------------------------

  private async pollPeers (): Promise<void> {
    const net = this.init.network
    const connected = new Set(net.peers())
    for (const peer of this.peerHeights.keys()) if (!connected.has(peer)) this.peerHeights.delete(peer)
    await Promise.all(net.peers().map(async peer => {
      try {
        const reply = shape.record(decode(await net.request(peer, this.protocols.status, new Uint8Array(0), { timeoutMs: 1500, maxResponseBytes: 256 })), 'status')
        this.peerHeights.set(peer, shape.uint(reply.height, 'status.height'))
      } catch {
        this.peerHeights.delete(peer)
      }
    }))
    if (this.bestKnownHeight > this.chainState.height) void this.sync()
  }

  private async serveSync (request: Uint8Array): Promise<Uint8Array> {
    const req = shape.record(decode(request), 'sync request')
    const from = shape.uint(req.from, 'sync.from')
    const blocks = this.init.store.blocksFrom(from, maxSyncBlocksPerRequest)
    const out: Array<{ block: Uint8Array, certificate: Uint8Array }> = []
    let bytes = 0
    for (const b of blocks) {
      bytes += b.block.byteLength + b.certificate.byteLength
      if (bytes > maxSyncResponseBytes && out.length > 0) break
      out.push({ block: b.block, certificate: b.certificate })
    }
    return encode(out)
  }

  /** Fetches and applies committed blocks from peers until this node is level with them. */
  private async sync (): Promise<void> {
    if (this.syncing || !this.running) return
    this.syncing = true
    const started = { at: performance.now(), height: this.chainState.height, txs: 0 }
    let lastReport = started.at
    try {
      for (let attempts = 0; attempts < 100 && this.running; attempts++) {
        const peer = [...this.peerHeights.entries()].filter(([, h]) => h > this.chainState.height).sort((a, b) => b[1] - a[1])[0]?.[0]
        if (peer === undefined) return
        let reply: unknown[]
        try {
          reply = shape.list(decode(await this.init.network.request(peer, this.protocols.sync, encode({ from: this.chainState.height + 1 }), { timeoutMs: 10_000, maxResponseBytes: maxSyncResponseBytes + 1024 })), 'sync reply', maxSyncBlocksPerRequest)
        } catch (err) {
          this.log(`ledger: sync from ${peer.slice(-8)} failed: ${(err as Error).message}`)
          this.peerHeights.delete(peer)
          continue
        }
        if (reply.length === 0) { this.peerHeights.delete(peer); continue }
        for (const item of reply) {
          if (!this.applySynced(item, peer)) break
          started.txs += this.lastSyncedTxs
        }
        if (performance.now() - lastReport > 2000) {
          lastReport = performance.now()
          this.log(`ledger: syncing: height ${this.chainState.height} of ${this.bestKnownHeight}`)
        }
      }
    } finally {
      this.syncing = false
      const blocks = this.chainState.height - started.height
      if (blocks > 1 || started.txs > 0) {
        const seconds = (performance.now() - started.at) / 1000
        this.log(`ledger: synced ${blocks} blocks (${started.txs} txs) in ${seconds.toFixed(2)} s: ${(started.txs / seconds).toFixed(0)} tx/s, now at height ${this.chainState.height}`)
      }
    }
  }

  private applySynced (item: unknown, peer: string): boolean {
    try {
      const r = shape.record(item, 'synced block')
      const value = shape.bytes(r.block, 'synced block.block')
      const certificateBytes = shape.bytes(r.certificate, 'synced block.certificate')
      const block = decodeBlock(value)
      const height = block.header.height
      // Consensus may have committed blocks while the request was under way: those are known.
      if (height <= this.chainState.height) { this.lastSyncedTxs = 0; return true }
      if (height !== this.chainState.height + 1) throw new MalformedMessageError(`sync reply holds block ${height}, not ${this.chainState.height + 1}`)
      const hash = blockHash(block.header)
      if (!verifyCommitCertificate(this.genesis.chainId, this.validators, height, hash, decodeCertificate(certificateBytes), verifyBytes)) {
        throw new MalformedMessageError(`block ${height} from sync has no valid commit certificate`)
      }
      // The certificate shows >2/3 of the voting power validated this block, signatures included,
      // so sync re-executes it (the state root must still match) without re-checking each
      // transaction signature: the same trust a light client places in a certificate.
      const outcome = { ...executeBlock(this.chainState, block, { ...this.hooks(), signedTx: decodeSignedTx }), block }
      this.applyCommitted(height, hash, value, certificateBytes, outcome)
      this.lastSyncedTxs = block.txs.length
      this.heightWaiting = undefined
      this.feed(this.startHeightEvent())
      return true
    } catch (err) {
      if (!(err instanceof KeynetError)) throw err
      this.init.network.penalise(peer, `bad sync reply: ${err.message}`)
      this.peerHeights.delete(peer)
      return false
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Per-block timing lines for performance work: set KEYNET_TRACE=1 on the node. */
  private readonly tracing = process.env.KEYNET_TRACE === '1'
  private trace (line: string): void {
    if (this.tracing) this.log(`trace ${line}`)
  }

  /**
   * Starts the height after the committed chain, with the certificate of the last block so this
   * node can re-send those precommits to peers still deciding it (after a restart or a sync).
   */
  private startHeightEvent (): ConsensusEvent {
    const certificate = this.lastCommit?.certificate
    return {
      type: 'start-height',
      height: this.chainState.height + 1,
      validators: this.validators,
      ...(certificate === undefined ? {} : { lastCommit: decodeCertificate(certificate) })
    }
  }

  private after (ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.timers.delete(t); if (this.running) fn() }, ms)
    this.timers.add(t)
  }

  private every (ms: number, fn: () => void): void {
    const tick = (): void => { fn(); this.after(ms, tick) }
    this.after(ms, tick)
  }

  private async waitFor (id: string, ms: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>(resolve => {
      let set = this.waiters.get(id)
      if (set === undefined) { set = new Set(); this.waiters.set(id, set) }
      const done = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        set.delete(done)
        if (set.size === 0) this.waiters.delete(id)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done)
      set.add(done)
    })
  }

  private wake (id: string): void {
    const set = this.waiters.get(id)
    if (set !== undefined) for (const done of [...set]) done()
  }
}

/** What `submitMany` reports for one transaction. */
export type SubmitResult = { id: string } | { error: { name: string, message: string } }

function errorView (err: Error): { name: string, message: string } {
  return { name: err.name, message: err.message }
}

function safeHex (s: string): Uint8Array {
  try { return fromHex(s) } catch { throw new MalformedMessageError('transaction id must be 64 hex characters') }
}
