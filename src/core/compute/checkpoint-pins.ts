/**
 * Which stored checkpoints a compute runner keeps pinned on the network, and when it unpins them.
 * Every checkpoint a runner stores is a pin on the ledger that it owns, so without a rule they
 * would grow with every interval of every task. The rule: a running task keeps its latest
 * `keptPerRun`; a task that completed keeps none; a task that stopped or was lost keeps its last
 * one for `endedKeepMs` (its client may resume from it); and the runner never keeps more than
 * `maxPinned`, releasing the oldest first (an ended run's before a running one's). A release is an
 * unpin transaction, sent only once the pin is on the ledger, and again if it has not committed
 * after `unpinRetryMs`. Pure: times are passed in, the ledger's answer too.
 */

/** One checkpoint pinned by the runner. */
export interface CheckpointPin {
  cid: string
  /** The run (its run id, hex) that stored it. */
  run: string
  /** When it was stored. */
  at: number
  /** When to unpin it (absent: kept while its run goes on). */
  releaseAt?: number
  /** When its unpin was last sent. */
  unpinSentAt?: number
}

export interface CheckpointPinRules {
  keptPerRun: number
  endedKeepMs: number
  maxPinned: number
  unpinRetryMs: number
  /** A pin that never reached the ledger is forgotten this long after it was stored. */
  unconfirmedForgetMs: number
}

/** `cid` of run `run` was stored at `now`: older ones of the run past `keptPerRun`, and the oldest past `maxPinned`, are due. */
export function pinStored (pins: readonly CheckpointPin[], run: string, cid: string, now: number, rules: CheckpointPinRules): CheckpointPin[] {
  const next = pins.some(p => p.cid === cid) ? pins.map(p => ({ ...p })) : [...pins.map(p => ({ ...p })), { cid, run, at: now }]
  const running = next.filter(p => p.run === run && p.releaseAt === undefined)
  for (const old of running.slice(0, Math.max(0, running.length - rules.keptPerRun))) old.releaseAt = now
  const kept = next.filter(p => p.releaseAt === undefined || p.releaseAt > now)
  const excess = kept.length - rules.maxPinned
  if (excess > 0) {
    const order = [...kept].sort((a, b) => Number(a.releaseAt === undefined) - Number(b.releaseAt === undefined) || a.at - b.at)
    for (const p of order.slice(0, excess)) p.releaseAt = now
  }
  return next
}

/** Run `run` ended at `now`: completed, its pins are due; otherwise its last is kept `endedKeepMs` and the rest are due. */
export function runEnded (pins: readonly CheckpointPin[], run: string, completed: boolean, now: number, rules: CheckpointPinRules): CheckpointPin[] {
  const next = pins.map(p => ({ ...p }))
  const mine = next.filter(p => p.run === run && p.releaseAt === undefined)
  const last = mine[mine.length - 1]
  for (const p of mine) p.releaseAt = p === last && !completed ? now + rules.endedKeepMs : now
  return next
}

/** After a restart: the runs that were going on are lost (ended, not completed). */
export function runsLost (pins: readonly CheckpointPin[], now: number, rules: CheckpointPinRules): CheckpointPin[] {
  let next = pins.map(p => ({ ...p }))
  for (const run of new Set(pins.filter(p => p.releaseAt === undefined).map(p => p.run))) next = runEnded(next, run, false, now, rules)
  return next
}

/** What to do now with each due pin, given whether it is on the ledger: send its unpin, forget it (gone), or wait. */
export function releaseActions (pins: readonly CheckpointPin[], now: number, onLedger: (cid: string) => boolean, rules: CheckpointPinRules): Array<{ cid: string, action: 'unpin' | 'forget' }> {
  const out: Array<{ cid: string, action: 'unpin' | 'forget' }> = []
  for (const p of pins) {
    if (p.releaseAt === undefined || p.releaseAt > now) continue
    if (!onLedger(p.cid)) {
      // Its unpin committed, or its pin never reached the ledger.
      if (p.unpinSentAt !== undefined || now - p.at > rules.unconfirmedForgetMs) out.push({ cid: p.cid, action: 'forget' })
      continue
    }
    if (p.unpinSentAt === undefined || now - p.unpinSentAt >= rules.unpinRetryMs) out.push({ cid: p.cid, action: 'unpin' })
  }
  return out
}
