/**
 * @packageDocumentation
 *
 * Compute tasks as pure rules: the task spec and its id, the module checks and fuel
 * instrumentation every provider applies identically, matching tasks to offers, verifying
 * results by replicas (and spot checks), and checkpoint bookkeeping. The sandbox that runs a
 * module is a service (`src/services/compute`). See `docs/protocol/compute.md`.
 *
 * @example
 * ```ts
 * const spec = checkTaskSpec({ module: moduleCid, input: inputCid, replicas: 2 })
 * const id = taskId(spec, client, nonce)
 * let { state, actions } = startVerification(id, spec, secretSeed)     // assign 2
 * for (const o of matchTask(spec, offers, { count: 2, taskId: id })) ({ state } = step(state, { kind: 'assigned', provider: o.provider, operator: o.operator }))
 * ;({ state, actions } = step(state, { kind: 'reported', provider: a, digest }))
 * ;({ state, actions } = step(state, { kind: 'reported', provider: b, digest }))  // settle: accepted, paid [a, b]
 * ```
 */
export * from './constants.ts'
export * from './errors.ts'
export * from './task.ts'
export * from './matching.ts'
export * from './verification.ts'
export * from './checkpoints.ts'
export { prepareModule, fuelExportName, type ModuleFacts, type PreparedModule, type PrepareOptions } from './prepare-module.ts'
export { wasiModuleName, wasiPreview1Functions } from './wasi-imports.ts'
export * from './checkpoint-pins.ts'
