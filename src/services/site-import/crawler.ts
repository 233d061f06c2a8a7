/**
 * Copies a static site from its HTTP origin into a local folder, laid out so that publishing the
 * folder serves every page at its old path (src/core/site-import/url-path.ts). Starts at one
 * URL, follows the links of HTML pages and style sheets within the same origin, follows
 * redirects that stay on it, and stops with `ImportLimitError` past the page, file or byte limit.
 * robots.txt is not consulted: the owner is copying their own site.
 */
import { createWriteStream, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { once } from 'node:events'
import { MalformedMessageError, NotFoundError, TimeoutError, UnavailableError } from '../../foundations/errors.ts'
import { formatBytes } from '../../foundations/units.ts'
import {
  ImportLimitError, PathTable, cssLinks, defaultMaxFiles, defaultMaxImportBytes, defaultMaxPages, defaultRequestTimeoutMs,
  htmlLinks, importConcurrency, isCssType, isHtmlType, linkTarget, maxRedirects, maxScannedDocumentBytes, servedTypeDiffers, storedPath
} from '../../core/site-import/index.ts'

/** Bounds and hooks of one crawl. */
export interface CrawlOptions {
  /** HTML pages at most (`--max-pages`). */
  maxPages?: number
  /** Files of any kind at most (`--max-files`). */
  maxFiles?: number
  /** Bytes downloaded at most (`--max-bytes`). */
  maxBytes?: number
  /** One request, headers and body (`--timeout`). */
  timeoutMs?: number
  /** Requests in flight at once. */
  concurrency?: number
  onProgress?: (progress: CrawlProgress) => void
  signal?: AbortSignal
}

/** Counts so far, for a progress line. */
export interface CrawlProgress {
  pages: number
  files: number
  bytes: number
  /** URLs found and not yet fetched. */
  queued: number
}

/** A URL the copy does not contain, and why. */
export interface SkippedUrl { url: string, reason: string }

/** What a crawl copied. */
export interface CrawlResult extends CrawlProgress {
  /** The origin crawled (`http://host:port`). */
  origin: string
  /** URLs found but not copied (the first 200): broken links, redirects off the origin, path conflicts. */
  skipped: SkippedUrl[]
  /** How many URLs were skipped in all. */
  skippedCount: number
  /** Copied, but served differently by the gateway than by the origin (type, or a moved page). */
  notes: string[]
  /** Links pointing off the origin (left as they are). */
  external: number
}

/** Skipped URLs and notes kept for the report; the rest are only counted. */
const maxReported = 200

/** Crawls the site at `start` into `outDir` (which should be empty). */
export async function crawlSite (start: string, outDir: string, opts: CrawlOptions = {}): Promise<CrawlResult> {
  let startUrl: URL
  try { startUrl = new URL(start) } catch { throw new MalformedMessageError(`"${start}" is not a URL: pass http://host[:port]/ or a folder`) }
  if (startUrl.protocol !== 'http:' && startUrl.protocol !== 'https:') throw new MalformedMessageError(`${start}: only http and https sites can be imported`)
  return await new Crawl(startUrl, outDir, opts).run()
}

class Crawl {
  private readonly origin: string
  private readonly root: string
  private readonly outDir: string
  private readonly maxPages: number
  private readonly maxFiles: number
  private readonly maxBytes: number
  private readonly timeoutMs: number
  private readonly concurrency: number
  private readonly onProgress: ((p: CrawlProgress) => void) | undefined
  private readonly abort = new AbortController()
  private readonly table = new PathTable()
  private readonly seen = new Set<string>()
  private readonly queue: string[] = []
  private readonly skipped: SkippedUrl[] = []
  private readonly notes: string[] = []
  private skippedCount = 0
  private external = 0
  private pages = 0
  private bytes = 0

  constructor (start: URL, outDir: string, opts: CrawlOptions) {
    this.origin = start.origin
    this.root = `${start.origin}${start.pathname}`
    this.outDir = outDir
    this.maxPages = opts.maxPages ?? defaultMaxPages
    this.maxFiles = opts.maxFiles ?? defaultMaxFiles
    this.maxBytes = opts.maxBytes ?? defaultMaxImportBytes
    this.timeoutMs = opts.timeoutMs ?? defaultRequestTimeoutMs
    this.concurrency = opts.concurrency ?? importConcurrency
    this.onProgress = opts.onProgress
    if (opts.signal !== undefined) {
      const outer = opts.signal
      if (outer.aborted) this.abort.abort(outer.reason)
      else outer.addEventListener('abort', () => { this.abort.abort(outer.reason) }, { once: true })
    }
  }

  async run (): Promise<CrawlResult> {
    this.seen.add(this.root)
    // The root alone first: its failure is the import's, with the clearest message.
    await this.visit(this.root, true)
    const inFlight = new Set<Promise<void>>()
    try {
      for (;;) {
        while (this.queue.length > 0 && inFlight.size < this.concurrency) {
          const url = this.queue.shift() as string
          const visit: Promise<void> = this.visit(url, false).finally(() => { inFlight.delete(visit) })
          inFlight.add(visit)
        }
        if (inFlight.size === 0) break
        await Promise.race(inFlight)
      }
    } catch (err) {
      this.abort.abort(err)
      await Promise.allSettled(inFlight)
      throw err
    }
    return { ...this.progress(), origin: this.origin, skipped: this.skipped, skippedCount: this.skippedCount, notes: this.notes, external: this.external }
  }

  private progress (): CrawlProgress {
    return { pages: this.pages, files: this.table.size, bytes: this.bytes, queued: this.queue.length }
  }

  /** Fetches one URL (following redirects on the origin), stores it, queues its links. */
  private async visit (first: string, isRoot: boolean): Promise<void> {
    // `url` is where the file is stored (no query); `fetchUrl` may carry a query a redirect added.
    let url = first
    let fetchUrl = first
    for (let hop = 0; ; hop++) {
      const res = await this.request(fetchUrl, isRoot)
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        await res.body?.cancel()
        const location = res.headers.get('location')
        if (location === null) return this.skip(url, `HTTP ${res.status} without a Location`, isRoot)
        const target = linkTarget(location, fetchUrl, this.origin)
        if (target.kind === 'skip') return this.skip(url, `redirects off the site to ${location.slice(0, 200)}`, isRoot)
        if (hop >= maxRedirects) return this.skip(first, `more than ${maxRedirects} redirects`, isRoot)
        if (target.url === url) {
          // Same path, another query (`/page` → `/page?lang=en`): fetch that, store it at the path.
          const next = new URL(location, fetchUrl)
          next.hash = ''
          fetchUrl = next.href
          continue
        }
        if (this.seen.has(target.url) && !isRoot) return // the target is copied on its own visit
        this.seen.add(target.url)
        url = fetchUrl = target.url
        continue
      }
      if (res.status < 200 || res.status > 299) {
        await res.body?.cancel()
        if (isRoot) {
          if (res.status === 404) throw new NotFoundError(`${fetchUrl} answered HTTP 404: there is no page to start from`)
          throw new UnavailableError(`${fetchUrl} answered HTTP ${res.status}: the import needs the site's root page`)
        }
        return this.skip(url, `HTTP ${res.status}`, false)
      }
      await this.store(url, res, isRoot)
      return
    }
  }

  private async request (url: string, isRoot: boolean): Promise<Response> {
    try {
      return await fetch(url, { redirect: 'manual', signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMs)]), headers: { accept: '*/*' } })
    } catch (err) {
      throw this.requestError(url, err, isRoot)
    }
  }

  private requestError (url: string, err: unknown, isRoot: boolean): Error {
    if (this.abort.signal.aborted) return this.abort.signal.reason instanceof Error ? this.abort.signal.reason : (err as Error)
    const e = err as Error & { cause?: { code?: string, message?: string } }
    if (e.name === 'TimeoutError') return new TimeoutError(`${url} did not answer within ${this.timeoutMs} ms (--timeout <ms> raises the limit)`)
    const cause = e.cause?.code ?? e.cause?.message ?? e.message
    return new UnavailableError(isRoot ? `cannot reach ${this.origin}: ${cause}` : `${url}: the origin stopped answering (${cause})`)
  }

  /** Writes the body of a 2xx answer to its path; scans HTML and CSS for more URLs. */
  private async store (url: string, res: Response, isRoot: boolean): Promise<void> {
    const type = res.headers.get('content-type') ?? undefined
    const html = isHtmlType(type)
    if (isRoot && !html) {
      await res.body?.cancel()
      throw new MalformedMessageError(`${url} is ${type ?? 'of no declared type'}, not an HTML page: start the import at the site's HTML root page, or import a folder`)
    }
    const place = storedPath(new URL(url).pathname, html)
    if (place.kind === 'unsafe') {
      await res.body?.cancel()
      return this.skip(url, `its path cannot be a file name: ${place.reason}`, isRoot)
    }
    if (html && ++this.pages > this.maxPages) {
      throw new ImportLimitError(`the site has more than ${this.maxPages} HTML pages (${url} would be one more): --max-pages <n> raises the limit`)
    }
    const claim = this.table.claim(place.path, url)
    if (claim.kind === 'duplicate') {
      if (html) this.pages--
      await res.body?.cancel()
      return
    }
    if (claim.kind === 'conflict') {
      if (html) this.pages--
      await res.body?.cancel()
      return this.skip(url, `not copied: ${claim.reason}`, isRoot)
    }
    if (this.table.size > this.maxFiles) throw new ImportLimitError(`the site has more than ${this.maxFiles} files (${url} would be one more): --max-files <n> raises the limit`)

    const scan = html || isCssType(type)
    const text: Uint8Array[] = []
    let scanned = 0
    const target = join(this.outDir, ...place.path.split('/'))
    mkdirSync(dirname(target), { recursive: true })
    const file = createWriteStream(target)
    try {
      if (res.body !== null) {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          this.bytes += chunk.byteLength
          if (this.bytes > this.maxBytes) throw new ImportLimitError(`the site holds more than ${formatBytes(this.maxBytes)} (reached while copying ${url}): --max-bytes <size> raises the limit`)
          if (scan && scanned < maxScannedDocumentBytes) { text.push(chunk); scanned += chunk.byteLength }
          if (!file.write(chunk)) await once(file, 'drain')
          this.onProgress?.(this.progress())
        }
      }
    } catch (err) {
      file.destroy()
      if (err instanceof ImportLimitError) throw err
      throw this.requestError(url, err, isRoot)
    }
    file.end()
    await once(file, 'close')

    if (place.movedIntoFolder) this.note(`${new URL(url).pathname} is stored as ${place.path}: the gateway serves it at ${new URL(url).pathname}/ (redirecting), so its relative links resolve one folder deeper`)
    const differs = servedTypeDiffers(place.path, type)
    if (differs !== undefined && !(html && place.path.endsWith('.html'))) this.note(`${place.path}: the origin sent ${differs.origin}, the gateway will send ${differs.gateway} (by the file's extension)`)
    if (scan) {
      const body = Buffer.concat(text).toString('utf8')
      const found = html ? htmlLinks(body) : cssLinks(body)
      if (found.dropped > 0) this.note(`${place.path}: ${found.dropped} links past the first ${found.links.length} were not followed`)
      let base = url
      if (found.base !== undefined) {
        try { base = new URL(found.base, url).href } catch { /* an unusable <base> is ignored, as browsers do */ }
      }
      for (const link of found.links) this.follow(link, base)
    }
    this.onProgress?.(this.progress())
  }

  private follow (link: string, base: string): void {
    const target = linkTarget(link, base, this.origin)
    if (target.kind === 'skip') {
      if (target.reason === 'other-origin') this.external++
      return
    }
    if (this.seen.has(target.url)) return
    this.seen.add(target.url)
    this.queue.push(target.url)
  }

  private skip (url: string, reason: string, isRoot: boolean): void {
    if (isRoot) throw new UnavailableError(`${url}: ${reason}; the import needs the site's root page`)
    this.skippedCount++
    if (this.skipped.length < maxReported) this.skipped.push({ url, reason })
  }

  private note (text: string): void {
    if (this.notes.length < maxReported) this.notes.push(text)
  }
}
