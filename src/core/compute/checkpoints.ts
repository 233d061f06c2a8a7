/**
 * Checkpoint bookkeeping of one replica's lineage: the runner offers each checkpoint the task
 * writes; one is stored (as content on the network) when the interval since the last stored one
 * has passed; when the provider dies, the replacement starts from the last stored checkpoint.
 * A lineage resumes only from its own checkpoints, so replicas stay independent and a forged
 * checkpoint shows as a final mismatch. Pure: times are passed in.
 */

/** A stored checkpoint: its CID and when and where it was taken. */
export interface StoredCheckpoint { cid: string, atMs: number, provider: string, bytes: number }

export interface LineageState {
  /** Interval between stored checkpoints (ms); 0 stores none. */
  everyMs: number
  /** Most recent stored checkpoint, the one a replacement resumes from. */
  last: StoredCheckpoint | undefined
  /** Checkpoints stored so far, and providers that ran this lineage (in order). */
  stored: number
  providers: string[]
}

/** A new lineage run by `provider`. */
export function startLineage (everyMs: number, provider: string): LineageState {
  return { everyMs, last: undefined, stored: 0, providers: [provider] }
}

/** Whether a checkpoint the task wrote at `nowMs` should be stored. */
export function shouldStore (state: LineageState, nowMs: number, startedAtMs: number): boolean {
  if (state.everyMs === 0) return false
  const since = state.last === undefined ? startedAtMs : state.last.atMs
  return nowMs - since >= state.everyMs
}

/** Records a stored checkpoint. */
export function recordStored (state: LineageState, checkpoint: StoredCheckpoint): LineageState {
  return { ...state, last: checkpoint, stored: state.stored + 1 }
}

/** The provider running the lineage died: `next` takes over from the last stored checkpoint (undefined: from the start). */
export function handOver (state: LineageState, next: string): { state: LineageState, resumeFrom: string | undefined } {
  return { state: { ...state, providers: [...state.providers, next] }, resumeFrom: state.last?.cid }
}
