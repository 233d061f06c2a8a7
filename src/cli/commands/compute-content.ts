/**
 * Where a compute task's module, input or checkpoint comes from, for `keynet compute run`: a
 * `key://name.key/path` URL or a CID names content on the network (resolved and verified as
 * `keynet get` does; providers fetch it themselves by CID); a local file up to
 * `inlineContentMaxBytes` travels inline in the run request, and a larger one is first put on the
 * network (as `keynet put` does, pinned, without a storage deal) and travels by CID — or inline
 * after all, up to `inlineFallbackMaxBytes`, when there is no network to put it on.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { MalformedMessageError, PayloadTooLargeError, UnavailableError } from '../../foundations/errors.ts'
import { formatBytes } from '../../foundations/units.ts'
import { cidForBlock, parseCid, rawCode, readFile, type CID } from '../../core/content/index.ts'
import { inlineContentMaxBytes, inlineFallbackMaxBytes, type ContentRef } from '../../services/compute/index.ts'
import type { CliContext } from '../context.ts'
import { publishPath, withContent } from './content.ts'

/** A task's module or input: its CID (what the task spec names), and the bytes to send inline or the reference providers fetch. */
export interface TaskSource {
  cid: CID
  size: number
  /** The bytes, when sent inline or needed here (the module is checked before it is sent). */
  bytes: Uint8Array | undefined
  /** Content on the network the providers fetch (absent: inline). */
  ref: ContentRef | undefined
}

/** Whether `arg` names content on the network rather than a local file. */
export function isNetworkContent (arg: string): boolean {
  if (/^key:\/\//i.test(arg)) return true
  if (existsSync(arg)) return false
  try { parseCid(arg.split('/')[0] ?? ''); return true } catch { return false }
}

/**
 * Resolves `arg` (a local file, a CID with an optional /path, or a key:// URL) as the task's
 * `what`, at most `maxBytes`; `needBytes` fetches network content here too. A large local file is
 * put on `replicas` storage providers first.
 */
export async function taskSource (ctx: CliContext, arg: string, what: string, opts: { maxBytes: number, needBytes: boolean, replicas: number }): Promise<TaskSource> {
  if (isNetworkContent(arg)) {
    let source: TaskSource | undefined
    await withContent(ctx, arg, async ({ entry, get, root }) => {
      if (entry.kind !== 'file') throw new MalformedMessageError(`the ${what} ${arg} is a folder: name a file inside it`)
      if (entry.size > opts.maxBytes) throw new PayloadTooLargeError(`the ${what} ${arg} is ${formatBytes(entry.size)}, more than the ${formatBytes(opts.maxBytes)} a task's ${what} may be`)
      let bytes: Uint8Array | undefined
      if (opts.needBytes) {
        bytes = new Uint8Array(entry.size)
        let at = 0
        for await (const chunk of readFile(entry.cid, get, { concurrency: 16 })) { bytes.set(chunk.subarray(0, bytes.byteLength - at), at); at += chunk.byteLength }
      }
      const ref: ContentRef = { cid: entry.cid.toString(), ...(root.equals(entry.cid) ? {} : { root: root.toString() }) }
      source = { cid: entry.cid, size: entry.size, bytes, ref }
    })
    return source!
  }
  let size: number
  try { size = statSync(arg).size } catch { throw new MalformedMessageError(`the ${what} ${arg} is neither a local file, a CID nor a key:// URL`) }
  if (size > opts.maxBytes) throw new PayloadTooLargeError(`the ${what} ${arg} is ${formatBytes(size)}, more than the ${formatBytes(opts.maxBytes)} a task's ${what} may be`)
  if (size <= inlineContentMaxBytes) {
    const bytes = new Uint8Array(readFileSync(arg))
    return { cid: cidForBlock(rawCode, bytes), size: bytes.byteLength, bytes, ref: undefined }
  }
  let summary
  try {
    summary = (await publishPath(ctx, arg, { replicas: opts.replicas, regions: opts.replicas, periods: 0 })).summary
  } catch (err) {
    if (!(err instanceof UnavailableError) || size > inlineFallbackMaxBytes) throw err
    process.stderr.write(`compute: the ${what} ${arg} (${formatBytes(size)}) could not be put on the network (${err.message}); sending it inline\n`)
    const bytes = new Uint8Array(readFileSync(arg))
    return { cid: cidForBlock(rawCode, bytes), size, bytes, ref: undefined }
  }
  process.stderr.write(`compute: ${what} ${arg} (${formatBytes(size)}) put on the network as ${summary.cid}, held by ${summary.holders.length} providers\n`)
  return { cid: parseCid(summary.cid), size, bytes: opts.needBytes ? new Uint8Array(readFileSync(arg)) : undefined, ref: { cid: summary.cid } }
}
