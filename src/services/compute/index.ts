/**
 * @packageDocumentation
 *
 * Running compute tasks: the `Sandbox` (a WASI preview1 module in a worker thread of its own,
 * under memory, fuel and output caps, with a `/state` folder for checkpoints), the provider's
 * `ComputeHost` and the client's `ComputeClient` over `/keynet/compute/run/1`. The rules they
 * follow are pure, in `src/core/compute`. See `docs/protocol/compute.md`.
 *
 * @example
 * ```ts
 * const sandbox = new Sandbox()
 * const result = await sandbox.run({ module: wasm, input, memoryBytes: 64 << 20, timeoutMs: 1000 })
 * // result.status 'ok', result.output, result.outputCid
 * ```
 */
export { Sandbox, type SandboxInit, type SandboxRun, type SandboxResult, type RunStatus } from './sandbox.ts'
export { ComputeHost, type ComputeHostInit } from './compute-host.ts'
export { ComputeClient, type ComputeProgress, type HeldCheckpoint, type ProviderReport, type VerifiedResult } from './compute-client.ts'
export { TaskContent, type TaskContentInit } from './task-content.ts'
export { computeCheckpointProtocol, computeRunProtocol, type CheckpointUpdate, type ContentRef, type RunRequest, type RunResponse } from './compute-protocol.ts'
export * from './constants.ts'
