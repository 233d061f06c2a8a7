/**
 * Files and folders from the local disk as importer input: a folder becomes a UnixFS tree with
 * the same relative paths (so existing links keep working), a file a single UnixFS file.
 * Symbolic links and special files are skipped and reported; hidden files are included.
 */
import { createReadStream, lstatSync, readdirSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { NotFoundError, MalformedMessageError } from '../../foundations/errors.ts'
import { importBytes, importTree, type ImportSink } from '../../core/content/importer.ts'
import type { CID } from '../../core/content/cid.ts'

/** Files in one published folder: a plain UnixFS directory stays readable by every IPFS tool. */
const maxFilesPerPublish = 100_000

export interface LocalSource {
  kind: 'file' | 'directory'
  files: Array<{ path: string, absolute: string, size: number }>
  totalBytes: number
  skipped: string[]
}

/** Lists what importing `path` will read, so progress can show a total before any hashing. */
export function scanLocal (path: string): LocalSource {
  let stat
  try { stat = lstatSync(path) } catch { throw new NotFoundError(`${path} does not exist`) }
  if (stat.isFile()) return { kind: 'file', files: [{ path: '', absolute: path, size: stat.size }], totalBytes: stat.size, skipped: [] }
  if (!stat.isDirectory()) throw new MalformedMessageError(`${path} is neither a file nor a folder`)
  const files: LocalSource['files'] = []
  const skipped: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const absolute = join(dir, name)
      const s = lstatSync(absolute)
      if (s.isDirectory()) walk(absolute)
      else if (s.isFile()) {
        files.push({ path: relative(path, absolute).split(sep).join('/'), absolute, size: s.size })
        if (files.length > maxFilesPerPublish) throw new MalformedMessageError(`${path} holds more than ${maxFilesPerPublish} files; publish it in parts`)
      } else skipped.push(relative(path, absolute))
    }
  }
  walk(path)
  return { kind: 'directory', files, totalBytes: files.reduce((n, f) => n + f.size, 0), skipped }
}

/** Imports a scanned file or folder into `sink`; `onBytes` gets the bytes read so far. */
export async function importLocal (source: LocalSource, sink: ImportSink, onBytes?: (bytes: number) => void, signal?: AbortSignal): Promise<{ cid: CID, size: number }> {
  let read = 0
  const counted = async function * (absolute: string): AsyncIterable<Uint8Array> {
    for await (const chunk of createReadStream(absolute, { highWaterMark: 1024 * 1024 })) {
      const bytes = chunk as Buffer
      read += bytes.byteLength
      onBytes?.(read)
      yield new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    }
  }
  if (source.kind === 'file') {
    const only = source.files[0]
    if (only === undefined) throw new NotFoundError('nothing to import')
    return await importBytes(counted(only.absolute), sink, { ...(signal === undefined ? {} : { signal }) })
  }
  const entries = async function * (): AsyncIterable<{ path: string, content: () => AsyncIterable<Uint8Array> }> {
    for (const f of source.files) yield { path: f.path, content: () => counted(f.absolute) }
  }
  const result = await importTree(entries(), sink, { ...(signal === undefined ? {} : { signal }) })
  return { cid: result.cid, size: result.size }
}
