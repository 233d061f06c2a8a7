/**
 * @packageDocumentation
 *
 * Storage on a provider node: content blocks on disk with a capacity bound and a pin list
 * (`BlockStore`), served to other nodes over `/keynet/blocks/{get,put,pin,has}/1`
 * (`serveBlocks`), and used from another node through `BlockClient`. A pin answers with a
 * placement receipt signed by the node's key (`verifyReceipt`). Fetching one piece of content
 * from several providers at once is `BlockFetcher` in `services/content/block-fetcher.ts`.
 *
 * @example
 * ```ts
 * import { BlockStore, BlockClient, serveBlocks } from './src/services/storage/index.ts'
 *
 * // on the storage node
 * const store = await BlockStore.open({ dir: './provider', capacityBytes: 10 * 2 ** 30 })
 * const stop = await serveBlocks(host, store, nodeKeyPair)
 *
 * // on a publisher
 * const client = new BlockClient({ host: myHost, peerId: providerPeerId })
 * await client.put(blocks)
 * const result = await client.pin(root)
 * if (result.pinned) console.log(result.receipt)   // signature and node key already checked
 * ```
 */
export { BlockStore, type BlockStoreInit, type DagInventory, type StoreUsage } from './block-store.ts'
export { serveBlocks, type ServeBlocksOptions, type ServedStore } from './block-protocol.ts'
export { BlockClient, type BlockClientInit, type PinResult, type PutOutcome } from './block-client.ts'
export { getProtocol, hasProtocol, pinProtocol, putProtocol, type PinAnswer } from './block-messages.ts'
export {
  decodeReceipt, encodeReceipt, receiptSigningBytes, signReceipt, verifyReceipt, type PlacementReceipt, type ReceiptBody
} from './placement-receipt.ts'
export { ContentUnavailableError, ReceiptInvalidError, StorageFullError } from './errors.ts'
export * from './constants.ts'
