/**
 * Content under a root as a standard `Response`: a file streams with its type, length and ETag
 * (single byte ranges give 206), a folder answers its `index.html` or a JSON listing.
 */
import { NotFoundError } from '../foundations/errors.ts'
import type { BlockGetter, CID } from '../core/content/cid.ts'
import { readFile, resolvePath } from '../core/content/exporter.ts'
import { contentTypeFor } from '../core/content/mime.ts'

/** Leaves fetched ahead while streaming a file: spread over the holders by the fetcher. */
const readAheadLeaves = 24

export async function contentResponse (root: CID, path: string, get: BlockGetter, request: { method: string, headers: Headers, signal?: AbortSignal }): Promise<Response> {
  const segments = path.split('/').filter(s => s !== '').map(s => decodeURIComponent(s))
  let entry = await resolvePath(root, segments.join('/'), get, request.signal)
  let fileName = segments.at(-1) ?? ''
  if (entry.kind === 'directory') {
    if (!entry.entries.some(e => e.name === 'index.html')) {
      const listing = JSON.stringify({ cid: entry.cid.toString(), entries: entry.entries.map(e => ({ name: e.name, cid: e.cid.toString() })) })
      return new Response(request.method === 'HEAD' ? null : listing, { status: 200, headers: { 'content-type': 'application/json', etag: `W/"${entry.cid.toString()}"` } })
    }
    entry = await resolvePath(entry.cid, 'index.html', get, request.signal)
    fileName = 'index.html'
    if (entry.kind !== 'file') throw new NotFoundError('index.html is not a file')
  }
  const file = entry
  const headers = new Headers({ 'content-type': contentTypeFor(fileName), etag: `"${file.cid.toString()}"`, 'accept-ranges': 'bytes', 'x-content-root': root.toString() })
  const range = singleRange(request.headers.get('range'), file.size)
  if (range === 'unsatisfiable') {
    return new Response(null, { status: 416, headers: { 'content-range': `bytes */${file.size}` } })
  }
  const start = range?.start ?? 0
  const end = range?.end ?? file.size
  headers.set('content-length', String(end - start))
  if (range !== undefined) headers.set('content-range', `bytes ${start}-${end - 1}/${file.size}`)
  const status = range === undefined ? 200 : 206
  if (request.method === 'HEAD' || end === start) return new Response(null, { status, headers })
  const chunks = readFile(file.cid, get, { start, end, concurrency: readAheadLeaves, ...(request.signal === undefined ? {} : { signal: request.signal }) })[Symbol.asyncIterator]()
  const body = new ReadableStream<Uint8Array>({
    async pull (controller) {
      const next = await chunks.next()
      if (next.done === true) controller.close()
      else controller.enqueue(next.value)
    },
    async cancel () { await chunks.return?.() }
  })
  return new Response(body, { status, headers })
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else (or several ranges) means the whole file. */
function singleRange (header: string | null, size: number): { start: number, end: number } | 'unsatisfiable' | undefined {
  const m = header === null ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m === null) return undefined
  const [a, b] = [m[1] ?? '', m[2] ?? '']
  if (a === '' && b === '') return undefined
  if (a === '') {
    const n = Number(b)
    if (n === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size }
  }
  const start = Number(a)
  const end = b === '' ? size : Math.min(size, Number(b) + 1)
  if (start >= size || end <= start) return 'unsatisfiable'
  return { start, end }
}
