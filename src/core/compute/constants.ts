/**
 * Bounds of compute tasks, each with its reason: what a task may ask for, what a module may
 * declare, and how fuel (the deterministic CPU budget) relates to time. Relationships between
 * them are asserted when this module loads. `docs/protocol/compute.md` explains them.
 */
import assert from 'node:assert/strict'

/** A WebAssembly page: 64 KiB, fixed by the WebAssembly specification. */
export const wasmPageBytes = 65_536
/** A task module's size: a compiled program, not a data set (data goes on stdin). */
export const maxModuleBytes = 16 * 1024 * 1024
/** A task's input (stdin), held in memory by the runner while the task runs. */
export const maxInputBytes = 256 * 1024 * 1024
/** A task's declared output (stdout) at most: results travel as content and are compared by hash. */
export const maxOutputBytes = 256 * 1024 * 1024
/** Diagnostics (stderr) kept from a run; past it they are cut. */
export const maxStderrBytes = 64 * 1024
/** A checkpoint (`/state/checkpoint`): state to resume from, stored as content at each interval. */
export const maxCheckpointBytes = 64 * 1024 * 1024
/** Memory one task may ask for: 4 GiB is all a 32-bit WebAssembly memory can address. */
export const maxTaskMemoryBytes = 4 * 1024 * 1024 * 1024
/** Memory a task gets when it names none. */
export const defaultTaskMemoryBytes = 256 * 1024 * 1024
/** Longest a task may run: longer jobs checkpoint and run as a chain of tasks. */
export const maxTaskTimeoutMs = 24 * 60 * 60_000
/** Time a task gets when it names none. */
export const defaultTaskTimeoutMs = 60_000
/**
 * Fuel per millisecond of a task's timeout. One unit of fuel is one instruction counted
 * statically in a loop body or function body each time it is entered. On one core of the
 * reference machine (bench/compute.ts) floating-point training code burns ~10⁷ units/ms and
 * integer hashing ~2.5 · 10⁷, so a budget of 10⁷/ms lasts about the timeout for the slower kind
 * and less for the faster: the timeout is an upper bound on time, and the wall-clock backstop
 * (a multiple of it) is never reached first on such a machine. Fuel, not time, decides when a
 * task is stopped, so every replica stops at the same instruction.
 */
export const fuelPerMs = 10_000_000
/** Replicas one task may ask for: enough for any vote, few enough to bound its cost. */
export const maxReplicas = 7
/** Replicas a task runs on when it names none: two that agree release payment. */
export const defaultReplicas = 2
/** Shortest checkpoint interval: a checkpoint is content stored on the network, not a log line. */
export const minCheckpointIntervalMs = 1_000
/** Functions in one module: bounds the instrumenter's work and the compiled code size. */
export const maxModuleFunctions = 100_000
/** Nesting depth of blocks inside one function body. */
export const maxBlockDepth = 10_000
/** Number of tasks a provider's runner keeps compiled modules for (least recently used goes first). */
export const maxCompiledModules = 32

assert.ok(maxModuleBytes <= maxInputBytes, 'a module must fit where an input fits')
assert.ok(defaultTaskMemoryBytes <= maxTaskMemoryBytes)
assert.ok(defaultTaskTimeoutMs <= maxTaskTimeoutMs)
assert.ok(Number.isSafeInteger(maxTaskTimeoutMs * fuelPerMs), 'the largest fuel budget must be an exact integer')
assert.ok(defaultReplicas >= 1 && defaultReplicas <= maxReplicas)
