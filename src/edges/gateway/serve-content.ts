/**
 * Answering for content under a root CID: resolves the path inside the DAG, then sends a file
 * (type from its name, ETag = its CID, conditional and range requests), a folder (redirect to
 * the trailing-slash URL, then its `index.html` or a generated listing), the DAG as a CAR, or
 * the raw block.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { BlockGetter, CID } from '../../core/content/cid.ts'
import { writeCar } from '../../core/content/car.ts'
import { readFile, resolvePath, walkDag, type Entry } from '../../core/content/exporter.ts'
import { contentTypeFor } from '../../core/content/mime.ts'
import { abortable, type Watchdog } from './cancellation.ts'
import { maxWarmPageBytes, readAheadBlocks } from './constants.ts'
import { carContentType, rawContentType, responseFormat } from './format.ts'
import { renderListing } from './listing.ts'
import { parseRange } from './range.ts'
import { ifRangeAllows, noneMatch, sendText, sendWhole } from './respond.ts'
import type { ResolvedPaths } from './resolved-paths.ts'
import type { CidRoute, NameRoute } from './route.ts'
import { encodePath } from './safe-path.ts'
import { sendStream } from './stream-body.ts'
import type { WarmPage, WarmPages } from './warm-pages.ts'

/** One request for content, routed and with its root resolved. */
export interface ContentRequest {
  head: boolean
  headers: IncomingHttpHeaders
  route: NameRoute | CidRoute
  query: URLSearchParams
  /** The root CID: the CID of a `/ipfs/` route, or what the name resolved to. */
  root: CID
  /** Cache-Control of successful answers (immutable for CIDs, short for names). */
  cacheControl: string
}

/** What serving needs besides the request. */
export interface ContentContext {
  get: BlockGetter
  signal: AbortSignal
  watchdog: Watchdog
  /** Resolved paths kept between requests (default: every path resolved anew). */
  paths?: ResolvedPaths
  /** Whole answers of small files kept between requests (default: every file read anew). */
  pages?: WarmPages
}

type FileEntry = Extract<Entry, { kind: 'file' }>
type DirectoryEntry = Extract<Entry, { kind: 'directory' }>

/** Answers `request` on `res`; rejects (before anything is sent, when it can) on errors. */
export async function serveContent (res: ServerResponse, request: ContentRequest, ctx: ContentContext): Promise<void> {
  const { route, root } = request
  const format = responseFormat(request.query, request.headers.accept)
  const prefix = route.kind === 'name' ? `/key/${route.name}` : `/ipfs/${route.cid.toString()}`
  const pageKey = format === 'content' && ctx.pages !== undefined ? keyOfPage(prefix, root, route) : undefined
  const page = pageKey === undefined ? undefined : ctx.pages?.get(pageKey)
  if (page !== undefined) return sendPage(res, request, page)
  const entry = await abortable(resolveIn(ctx, root, route.segments.join('/')), ctx.signal)
  const base: OutgoingHttpHeaders = {
    'cache-control': request.cacheControl,
    'x-ipfs-path': `${prefix}${encodePath(route.segments)}${entry.kind === 'directory' ? '/' : ''}`,
    'x-content-root': root.toString(),
    'x-content-type-options': 'nosniff',
    vary: 'Accept'
  }
  if (format === 'car') return await sendCar(res, request, ctx, entry.cid, base)
  if (format === 'raw') return await sendRaw(res, request, ctx, entry.cid, base)
  if (entry.kind === 'file') return await sendFile(res, request, ctx, entry, route.segments.at(-1) ?? '', base, pageKey)
  if (!route.trailingSlash) {
    // Relative links in a folder's page resolve against its URL, so it must end in '/'.
    const query = request.query.toString()
    const location = `${route.basePath}${encodePath(route.segments)}/${query === '' ? '' : `?${query}`}`
    sendText(res, 301, `moved to ${location}`, request.head, { ...base, location })
    return
  }
  if (entry.entries.some(e => e.name === 'index.html')) {
    const index = await abortable(resolveIn(ctx, entry.cid, 'index.html'), ctx.signal)
    if (index.kind === 'file') return await sendFile(res, request, ctx, index, 'index.html', base, pageKey)
  }
  sendListing(res, request, entry, base)
}

/**
 * The key of a file's whole answer: everything its headers depend on (how the root is addressed,
 * the root, the path and its trailing slash). Content under a root CID never changes.
 */
function keyOfPage (prefix: string, root: CID, route: NameRoute | CidRoute): string {
  return `${prefix}\n${root.toString()}\n${route.segments.join('/')}${route.trailingSlash ? '/' : ''}`
}

/** What a file's answer needs before its bytes. */
interface FileHead { etag: string, contentType: string, size: number }

/** The status, headers and byte range of a file's answer; undefined when a 304 or 416 was sent instead. */
function planFile (res: ServerResponse, request: ContentRequest, file: FileHead, base: OutgoingHttpHeaders): { status: number, headers: OutgoingHttpHeaders, start: number, end: number } | undefined {
  const { etag, size } = file
  const headers: OutgoingHttpHeaders = { ...base, etag, 'content-type': file.contentType, 'accept-ranges': 'bytes' }
  if (noneMatch(request.headers['if-none-match'], etag)) {
    notModified(res, headers)
    return undefined
  }
  let range = parseRange(request.headers.range, size)
  if (range.kind !== 'full' && !ifRangeAllows(firstValue(request.headers['if-range']), etag)) range = { kind: 'full' }
  if (range.kind === 'unsatisfiable') {
    sendText(res, 416, `range not satisfiable: the file has ${size} bytes`, request.head, { ...base, 'content-range': `bytes */${size}` })
    return undefined
  }
  const start = range.kind === 'partial' ? range.start : 0
  const end = range.kind === 'partial' ? range.end : size
  headers['content-length'] = end - start
  if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end - 1}/${size}`
  return { status: range.kind === 'partial' ? 206 : 200, headers, start, end }
}

async function sendFile (res: ServerResponse, request: ContentRequest, ctx: ContentContext, file: FileEntry, fileName: string, base: OutgoingHttpHeaders, pageKey: string | undefined): Promise<void> {
  const head: FileHead = { etag: `"${file.cid.toString()}"`, contentType: contentTypeFor(fileName), size: file.size }
  const plan = planFile(res, request, head, base)
  if (plan === undefined) return
  const { status, headers, start, end } = plan
  if (request.head || end === start) {
    res.writeHead(status, headers)
    res.end()
    return
  }
  if (pageKey !== undefined && ctx.pages !== undefined && file.size <= maxWarmPageBytes) {
    // Small: read whole once (verified, block by block), then answered from memory in one write.
    const body = await readWhole(file, ctx)
    const page: WarmPage = { base, head, headers: { ...base, etag: head.etag, 'content-type': head.contentType, 'accept-ranges': 'bytes', 'content-length': body.byteLength }, body }
    ctx.pages.set(pageKey, page)
    res.writeHead(status, headers)
    res.end(start === 0 && end === body.byteLength ? body : body.subarray(start, end))
    return
  }
  const body = readFile(file.cid, ctx.get, { start, end, concurrency: readAheadBlocks, signal: ctx.signal })
  await sendStream(res, status, headers, body, { expectedBytes: end - start, signal: ctx.signal, watchdog: ctx.watchdog })
}

/** A kept answer: the full 200 as it was built, or through `planFile` for conditional and range requests. */
function sendPage (res: ServerResponse, request: ContentRequest, page: WarmPage): void {
  const { body } = page
  if (request.headers.range === undefined && request.headers['if-none-match'] === undefined) {
    res.writeHead(200, page.headers)
    res.end(request.head ? undefined : body)
    return
  }
  const plan = planFile(res, request, page.head, page.base)
  if (plan === undefined) return
  res.writeHead(plan.status, plan.headers)
  res.end(request.head || plan.end === plan.start ? undefined : body.subarray(plan.start, plan.end))
}

/** All of a small file's bytes, read through the verified getter. */
async function readWhole (file: FileEntry, ctx: ContentContext): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let bytes = 0
  for await (const chunk of readFile(file.cid, ctx.get, { concurrency: readAheadBlocks, signal: ctx.signal })) {
    ctx.watchdog.kick()
    chunks.push(chunk)
    bytes += chunk.byteLength
    if (bytes > file.size) throw new Error(`content is longer than its declared ${file.size} bytes`)
  }
  if (bytes !== file.size) throw new Error(`content ended after ${bytes} of its declared ${file.size} bytes`)
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes)
}

async function sendCar (res: ServerResponse, request: ContentRequest, ctx: ContentContext, cid: CID, base: OutgoingHttpHeaders): Promise<void> {
  const headers: OutgoingHttpHeaders = {
    ...base,
    etag: `"${cid.toString()}.car"`,
    'content-type': carContentType,
    'content-disposition': `attachment; filename="${cid.toString()}.car"`
  }
  if (noneMatch(request.headers['if-none-match'], `"${cid.toString()}.car"`)) return notModified(res, headers)
  if (request.head) {
    res.writeHead(200, headers)
    res.end()
    return
  }
  const body = writeCar([cid], walkDag(cid, ctx.get, { concurrency: readAheadBlocks, signal: ctx.signal }))
  await sendStream(res, 200, headers, body, { signal: ctx.signal, watchdog: ctx.watchdog })
}

async function sendRaw (res: ServerResponse, request: ContentRequest, ctx: ContentContext, cid: CID, base: OutgoingHttpHeaders): Promise<void> {
  const headers: OutgoingHttpHeaders = {
    ...base,
    etag: `"${cid.toString()}.raw"`,
    'content-type': rawContentType,
    'content-disposition': `attachment; filename="${cid.toString()}.bin"`
  }
  if (noneMatch(request.headers['if-none-match'], `"${cid.toString()}.raw"`)) return notModified(res, headers)
  const bytes = await abortable(ctx.get(cid, ctx.signal), ctx.signal)
  sendWhole(res, 200, headers, bytes, request.head)
}

function sendListing (res: ServerResponse, request: ContentRequest, dir: DirectoryEntry, base: OutgoingHttpHeaders): void {
  const { route } = request
  const etag = `W/"${dir.cid.toString()}"`
  const headers: OutgoingHttpHeaders = { ...base, etag, 'content-type': 'text/html; charset=utf-8' }
  if (noneMatch(request.headers['if-none-match'], etag)) return notModified(res, headers)
  const displayPath = `${route.basePath}/${route.segments.map(s => `${s}/`).join('')}`
  sendWhole(res, 200, headers, renderListing(displayPath, dir.entries, route.segments.length > 0), request.head)
}

function notModified (res: ServerResponse, headers: OutgoingHttpHeaders): void {
  const { 'content-type': _type, 'content-length': _length, 'content-disposition': _disposition, ...rest } = headers
  res.writeHead(304, rest)
  res.end()
}

async function resolveIn (ctx: ContentContext, root: CID, path: string): Promise<Entry> {
  return await (ctx.paths === undefined ? resolvePath(root, path, ctx.get, ctx.signal) : ctx.paths.resolve(root, path, ctx.get, ctx.signal))
}

function firstValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
