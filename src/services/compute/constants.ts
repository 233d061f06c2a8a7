/**
 * Bounds and timings of the compute runner (the sandbox that runs task modules on a provider),
 * each with its reason. Relationships between them are asserted when this module loads.
 */
import assert from 'node:assert/strict'
import { maxCheckpointBytes } from '../../core/compute/constants.ts'
import { maxMessageBytesCap } from '../p2p/index.ts'

/** JS heap of a sandbox worker (MiB): its own glue code and buffers only; task memory is the wasm memory, capped in the module. */
export const workerHeapMb = 64
/** Young generation of a sandbox worker's heap (MiB). */
export const workerYoungHeapMb = 16
/** Stack of a sandbox worker (MiB): deep recursion in a task traps instead of taking the host down. */
export const workerStackMb = 4
/**
 * The wall-clock backstop: a task still running after this multiple of its timeout (plus
 * `wallSlackMs`) has its worker terminated. Fuel stops tasks first; this catches only a task
 * that spends time outside its own code (a host call) or a machine far slower than the reference.
 */
export const wallTimeoutMultiple = 4
/** Added to the wall-clock backstop: worker start-up and module instantiation. */
export const wallSlackMs = 2_000
/** Bytes a task may write into its `/state` folder over its run (checkpoints and their temporary copies). */
export const maxStateWriteBytes = 4 * maxCheckpointBytes
/** Name of the checkpoint file inside `/state`. */
export const checkpointFileName = 'checkpoint'

/**
 * Longest a provider holds a checkpoint watch before answering "nothing new": short enough that
 * a client notices a provider gone silent, long enough that watching costs a few requests a minute.
 */
export const checkpointHoldMs = 5_000
/** A watch for a run the provider has not started yet is answered after this pause (the run request may still be on its way). */
export const unknownRunPauseMs = 100

assert.ok(wallTimeoutMultiple >= 2, 'the backstop must not fire before fuel on a machine like the reference')
assert.ok(maxStateWriteBytes >= 2 * maxCheckpointBytes, 'a checkpoint and its temporary copy must fit')

/**
 * Module, input and checkpoint bytes up to this size travel inline in a run request; larger ones
 * are put on the network first and travel as a CID (each provider fetches them itself). Inline
 * costs every replica's request the bytes once; by CID costs an upload, a pin transaction and a
 * round of block fetches, which pays off only past about this size.
 */
export const inlineContentMaxBytes = 1024 * 1024
/**
 * A larger local file that cannot be put on the network (no node API, no storage provider) still
 * travels inline up to this size, as before content by CID: well inside the p2p message cap.
 */
export const inlineFallbackMaxBytes = 32 * 1024 * 1024
/** Storage providers (under distinct operators where there are enough) that hold each stored checkpoint. */
export const checkpointReplicas = 2
/** Stored checkpoints of a running task kept pinned: the latest, and the one before while the latest is being confirmed. */
export const keptCheckpointsPerRun = 2
/** How long the last checkpoint of an ended (or orphaned) run stays pinned, so a client can still resume from it (`--resume <cid>`). */
export const endedCheckpointKeepMs = 60 * 60_000
/** Checkpoints one runner keeps pinned at most, over all runs: past it the oldest are released first. */
export const maxPinnedCheckpoints = 256
/** How often the runner looks for checkpoints to release (unpin transactions wait for their pin to commit). */
export const checkpointReleaseCheckMs = 2_000
/** An unpin sent and not yet committed is not sent again for this long. */
export const unpinRetryMs = 15_000
/** Longest wait for a checkpoint's pin to commit before the checkpoint is handed over inline instead. */
export const checkpointPinWaitMs = 10_000
/** A checkpoint whose pin never reached the ledger is forgotten after this long (its holders drop it on restart). */
export const unconfirmedPinForgetMs = 120_000

assert.ok(inlineContentMaxBytes <= inlineFallbackMaxBytes && inlineFallbackMaxBytes * 2 <= maxMessageBytesCap, 'an inline module and input together fit in one run request')
assert.ok(keptCheckpointsPerRun >= 1 && maxPinnedCheckpoints >= keptCheckpointsPerRun)
