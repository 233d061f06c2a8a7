import { equalBytes, toHex } from '../../foundations/bytes.ts'
import { addressOf } from '../../foundations/crypto.ts'
import { encode } from '../../foundations/encoding.ts'
import { InvalidTransactionError, KeynetError } from '../../foundations/errors.ts'
import { sha256 } from '../../foundations/hash.ts'
import { maxBlockBytes, maxBlockEvidence, maxBlockTimeStepMs, maxBlockTxs } from '../../foundations/limits.ts'
import { emptyAuthMap, type AuthMap } from '../auth-map/index.ts'
import { applyTx, type BlockEnv } from './apply.ts'
import { blockHash, bodyHash } from './block.ts'
import { StateView, type StateChange } from './state.ts'
import { stateKey } from './state-keys.ts'
import { decodeSignedTx, verifyTxSignature } from './tx.ts'
import type { Block, BlockHeader, Genesis, SignedTx } from './types.ts'

/** The ledger after some block: the pure input and output of block execution. */
export interface ChainState {
  genesis: Genesis
  height: number
  /** Hash of the last block (of the genesis document at height 0). */
  lastHash: Uint8Array
  /** Ledger time of the last block. */
  time: number
  state: AuthMap
}

/** Outside checks the executor needs, kept out so the core stays pure and fast. */
export interface ExecutionHooks {
  /** Decodes and checks a signature, or reuses an earlier check of the same bytes. */
  signedTx?: (encoded: Uint8Array) => SignedTx
  /** Returns the evidence's id if it proves a validator's fault, undefined otherwise. */
  checkEvidence?: (encoded: Uint8Array) => Uint8Array | undefined
}

export function genesisHash (genesis: Genesis): Uint8Array {
  return sha256(encode(['keynet-genesis-v1', genesis]))
}

export function genesisChain (genesis: Genesis): ChainState {
  const view = new StateView(emptyAuthMap())
  for (const a of genesis.accounts) view.setAccount(a.address, { balance: a.balance, nonce: 0 })
  return { genesis, height: 0, lastHash: genesisHash(genesis), time: genesis.time, state: view.commit() }
}

function defaultSignedTx (encoded: Uint8Array): SignedTx {
  const signed = decodeSignedTx(encoded)
  verifyTxSignature(signed)
  return signed
}

/** What one included transaction did: undefined error means it succeeded. */
export interface TxResult { index: number, error?: { name: string, message: string } }

/** A block's effect: the chain after it, the state writes to persist, and each transaction's result. */
export interface BlockOutcome {
  chain: ChainState
  changes: StateChange[]
  results: TxResult[]
}

/** Result of building a block: the block, its outcome, and the candidates left out. */
export interface BuiltBlock extends BlockOutcome {
  block: Block
  rejected: Array<{ tx: Uint8Array, error: KeynetError }>
}

/**
 * Proposes the next block from candidate transactions (in order), leaving out any that fail to
 * apply. Ledger time is `now` clamped to the rules a validator checks.
 */
export function buildBlock (chain: ChainState, candidates: Iterable<Uint8Array>, now: number, proposer: Uint8Array, hooks: ExecutionHooks = {}, evidence: Uint8Array[] = []): BuiltBlock {
  const height = chain.height + 1
  const time = Math.min(Math.max(now, chain.time + 1), chain.time + maxBlockTimeStepMs)
  const env = envFor(chain, height, time, proposer)
  const view = new StateView(chain.state)
  const signedTx = hooks.signedTx ?? defaultSignedTx
  const txs: Uint8Array[] = []
  const results: TxResult[] = []
  const rejected: BuiltBlock['rejected'] = []
  let bytes = 1024
  for (const encoded of candidates) {
    if (txs.length >= maxBlockTxs || bytes + encoded.byteLength + 8 > maxBlockBytes) break
    try {
      const error = applyTx(view, signedTx(encoded).tx, env)
      results.push(resultOf(txs.length, error))
      txs.push(encoded)
      bytes += encoded.byteLength + 8
    } catch (err) {
      if (!(err instanceof KeynetError)) throw err
      rejected.push({ tx: encoded, error: err })
    }
  }
  const acceptedEvidence = recordEvidence(view, evidence.slice(0, maxBlockEvidence), hooks, false)
  const changes = view.changes()
  const state = view.commit(changes)
  const header: BlockHeader = {
    chainId: chain.genesis.chainId,
    height,
    time,
    parentHash: chain.lastHash,
    bodyHash: bodyHash(txs, acceptedEvidence),
    stateRoot: state.root,
    txCount: txs.length,
    proposer
  }
  const block: Block = { header, txs, evidence: acceptedEvidence }
  return { block, chain: { ...chain, height, lastHash: blockHash(header), time, state }, changes, results, rejected }
}

/**
 * Checks a proposed block against the chain and returns the state after it; throws
 * `InvalidTransactionError` naming the first rule the block breaks.
 */
export function executeBlock (chain: ChainState, block: Block, hooks: ExecutionHooks = {}): BlockOutcome {
  const h = block.header
  const fail = (why: string): never => { throw new InvalidTransactionError(`block ${h.height} is invalid: ${why}`) }
  if (h.chainId !== chain.genesis.chainId) fail(`chain id ${h.chainId}`)
  if (h.height !== chain.height + 1) fail(`height is not ${chain.height + 1}`)
  if (!equalBytes(h.parentHash, chain.lastHash)) fail('parent hash does not match the last block')
  if (h.time <= chain.time || h.time > chain.time + maxBlockTimeStepMs) fail('time is not within the allowed step after its parent')
  if (h.txCount !== block.txs.length || block.txs.length > maxBlockTxs) fail('transaction count')
  if (!equalBytes(h.bodyHash, bodyHash(block.txs, block.evidence))) fail('body hash does not match its transactions')
  if (!chain.genesis.validators.some(v => equalBytes(v.publicKey, h.proposer))) fail('proposer is not a validator')
  const env = envFor(chain, h.height, h.time, h.proposer)
  const view = new StateView(chain.state)
  const signedTx = hooks.signedTx ?? defaultSignedTx
  const results: TxResult[] = []
  for (const [i, encoded] of block.txs.entries()) {
    try {
      results.push(resultOf(i, applyTx(view, signedTx(encoded).tx, env)))
    } catch (err) {
      if (!(err instanceof KeynetError)) throw err
      fail(`transaction ${i}: ${err.message}`)
    }
  }
  if (recordEvidence(view, block.evidence, hooks, true).length !== block.evidence.length) fail('evidence')
  const changes = view.changes()
  const state = view.commit(changes)
  if (!equalBytes(state.root, h.stateRoot)) fail(`state root ${toHex(state.root).slice(0, 16)}… differs from the header's`)
  return { chain: { ...chain, height: h.height, lastHash: blockHash(h), time: h.time, state }, changes, results }
}

function resultOf (index: number, error: KeynetError | undefined): TxResult {
  return error === undefined ? { index } : { index, error: { name: error.name, message: error.message } }
}

function envFor (chain: ChainState, height: number, time: number, proposer: Uint8Array): BlockEnv {
  return { chainId: chain.genesis.chainId, height, time, params: chain.genesis.params, feeRecipient: addressOf(proposer), parentHash: chain.lastHash }
}

/** Stores each new, valid evidence item under its id; returns the items accepted. */
function recordEvidence (view: StateView, evidence: Uint8Array[], hooks: ExecutionHooks, strict: boolean): Uint8Array[] {
  const accepted: Uint8Array[] = []
  for (const item of evidence) {
    const id = hooks.checkEvidence?.(item)
    const key = id === undefined ? undefined : stateKey.evidence(id)
    if (key === undefined || view.has(key)) {
      if (strict) return accepted
      continue
    }
    view.setRaw(key, item)
    accepted.push(item)
  }
  return accepted
}

