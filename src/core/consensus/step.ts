/**
 * `step`: the whole consensus core as one pure function of (state, event, context).
 */
import assert from 'node:assert/strict'
import { equalBytes } from '../../foundations/bytes.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxValueBytes } from './constants.ts'
import { checkProposal, checkVote, decodeMessage, messageHeight } from './messages.ts'
import { receiveMessage, receiveProposal, receiveVote } from './receive.ts'
import { storeOwnVote } from './log.ts'
import { castVote, propose, startRound } from './round.ts'
import { inRound, runRules } from './rules.ts'
import { freshRoundFlags, type ConsensusState, type LastCommit } from './state.ts'
import { reject, emit, type Transition } from './transition.ts'
import type { ConsensusAction, ConsensusContext, ConsensusEvent, Lock, PeerRef, SignedVote, SigningRecord, TimeoutStep, Validator } from './types.ts'
import { indexOf, powerOf, validatorSet, type ValidatorSet } from './validators.ts'
import { addVote, emptyRoundLog, hashKey } from './votes.ts'

/**
 * Applies one event. Returns the next state (the given one is not modified) and the actions the
 * driver must execute in order. Never throws on input from peers; throws (assert) only on a
 * broken invariant or a driver error such as an empty validator set.
 *
 * @example
 * let s = initialState({ height: 1, validators, self: myKey })
 * ;({ state: s, actions } = step(s, { type: 'start-height', height: 1, validators }, ctx))
 */
export function step (state: ConsensusState, event: ConsensusEvent, ctx: ConsensusContext): { state: ConsensusState, actions: ConsensusAction[] } {
  const t: Transition = { s: state, actions: [], ctx }
  switch (event.type) {
    case 'start-height': startHeight(t, event.height, event.validators, event.lastCommit); break
    case 'message': {
      const message = parse(t, event.from, () => decodeMessage(event.bytes))
      if (message !== undefined) receiveMessage(t, message, event.from)
      break
    }
    case 'vote': {
      const vote = parse(t, event.from, () => checkVote(event.vote))
      if (vote !== undefined) receiveVote(t, vote, event.from)
      break
    }
    case 'proposal': {
      const proposal = parse(t, event.from, () => checkProposal(event.proposal))
      if (proposal !== undefined) receiveProposal(t, proposal, event.from)
      break
    }
    case 'timeout': onTimeout(t, event.height, event.round, event.step); break
    case 'value': onValue(t, event.height, event.round, event.value); break
  }
  runRules(t)
  return { state: t.s, actions: t.actions }
}

function parse<T> (t: Transition, from: PeerRef | undefined, check: () => T): T | undefined {
  try {
    return check()
  } catch (err) {
    if (!(err instanceof MalformedMessageError)) throw err
    reject(t, from, err.message, true)
    return undefined
  }
}

/**
 * Starts `height` with its validator set, dropping everything of lower heights (also after block
 * sync jumped ahead). A start of a height already running, or of a lower one, changes nothing.
 */
function startHeight (t: Transition, height: number, validators: readonly Validator[], lastCertificate: readonly SignedVote[] | undefined): void {
  const s = t.s
  if (height < s.height || (height === s.height && s.step !== 'idle')) return
  const set = validatorSet(validators)
  const keepLog = height === s.height && sameSet(s.validators, set)
  const future = s.future
  t.s = {
    ...s,
    height,
    round: 0,
    step: 'propose',
    validators: set,
    selfIndex: s.self === null ? -1 : indexOf(set, s.self),
    lockedRound: -1,
    lock: null,
    validRound: -1,
    validValue: null,
    log: keepLog ? s.log : new Map(),
    flags: freshRoundFlags,
    awaitingValue: false,
    maxRoundSeen: keepLog ? s.maxRoundSeen : new Map(),
    aheadHeights: new Map([...s.aheadHeights].filter(([, h]) => h > height)),
    future: [],
    decision: null,
    lastCommit: s.lastCommit?.height === height - 1 ? s.lastCommit : lastCommitFrom(height - 1, lastCertificate)
  }
  const record = t.s.signing
  if (record.height === height && record.step !== null) resume(t, record)
  else startRound(t, 0)
  for (const buffered of future) {
    if (messageHeight(buffered.message) === height) receiveMessage(t, buffered.message, buffered.from)
  }
}

/**
 * Restart within a height that this validator already signed in: continue in the recorded round
 * and step with the recorded lock, and re-broadcast the recorded votes (the crash may have come
 * between persisting and broadcasting them).
 */
function resume (t: Transition, record: SigningRecord): void {
  const lock = record.lock
  if (lock !== null) {
    // The POL makes the locked value this node's valid value again (validRound >= lockedRound).
    t.s = { ...t.s, lockedRound: lock.round, lock, validRound: lock.round, validValue: lock.value }
    restorePol(t, lock)
  }
  startRound(t, record.round)
  if (record.step !== 'propose') t.s = { ...t.s, step: record.step ?? 'propose' }
  for (const vote of record.votes) {
    if (t.s.self === null || !equalBytes(vote.validator, t.s.self)) continue
    emit(t, { type: 'broadcast', message: { type: 'vote', vote } })
    storeOwnVote(t, vote)
  }
}

/** Puts the persisted POL prevotes back in the log, so gossip can show peers the lock's reason. */
function restorePol (t: Transition, lock: Lock): void {
  const s = t.s
  const log = s.log.get(lock.round) ?? emptyRoundLog
  let prevotes = log.prevotes
  for (const vote of lock.pol) {
    const index = indexOf(s.validators, vote.validator)
    if (index < 0 || prevotes.byValidator.get(index)?.some(v => hashKey(v.hash) === hashKey(vote.hash)) === true) continue
    prevotes = addVote(prevotes, index, vote, powerOf(s.validators, index))
  }
  t.s = { ...s, log: new Map(s.log).set(lock.round, { ...log, prevotes }) }
}

/** OnTimeoutPropose, OnTimeoutPrevote, OnTimeoutPrecommit (lines 57–67). */
function onTimeout (t: Transition, height: number, round: number, timeout: TimeoutStep): void {
  const s = t.s
  if (height !== s.height || round !== s.round || !inRound(s)) return
  if (timeout === 'propose' && s.step === 'propose') {
    castVote(t, 'prevote', null)
    t.s = { ...t.s, step: 'prevote' }
  } else if (timeout === 'prevote' && s.step === 'prevote') {
    castVote(t, 'precommit', null)
    t.s = { ...t.s, step: 'precommit' }
  } else if (timeout === 'precommit') {
    startRound(t, s.round + 1)
  }
}

/** The driver's answer to `need-value` (line 16, getValue()). Late answers are dropped. */
function onValue (t: Transition, height: number, round: number, value: Uint8Array): void {
  const s = t.s
  if (height !== s.height || round !== s.round || s.step !== 'propose' || !s.awaitingValue) return
  assert.ok(value.byteLength <= maxValueBytes, 'the driver proposed a value above maxValueBytes')
  propose(t, value, -1)
}

function lastCommitFrom (height: number, certificate: readonly SignedVote[] | undefined): LastCommit | null {
  const first = certificate?.[0]
  if (certificate === undefined || first === undefined || first.hash === null || first.height !== height) return null
  return { height, round: first.round, hash: first.hash, certificate }
}

function sameSet (a: ValidatorSet, b: ValidatorSet): boolean {
  if (a.validators.length !== b.validators.length) return false
  return a.validators.every((v, i) => {
    const w = b.validators[i]
    return w !== undefined && v.power === w.power && equalBytes(v.publicKey, w.publicKey)
  })
}
