/**
 * Small files kept whole in memory as ready answers: a warm page is sent with its headers and
 * body in one write, without walking the file's DAG, fetching its blocks or streaming them again.
 * The body was read through the verified block getter, and an answer is keyed by the root CID and
 * the path below it, which never change what they address; a name is still resolved on every
 * request, so a name moved to new content gets the new content's answers.
 *
 * @example
 * ```ts
 * const pages = new WarmPages()
 * pages.set(key, { base, head, headers, body })   // after reading the small file once
 * pages.get(key)                                  // later requests: the same answer, no block read
 * ```
 */
import type { OutgoingHttpHeaders } from 'node:http'
import { ByteLru } from './byte-lru.ts'
import { maxWarmPages, warmPagesBytes } from './constants.ts'

/** A whole file's answer: what its headers are built from, the headers of its full 200, its bytes. */
export interface WarmPage {
  /** The headers every answer for the path has (cache, path and root headers). */
  base: OutgoingHttpHeaders
  /** The file's entity tag, media type and size. */
  head: { etag: string, contentType: string, size: number }
  /** Headers of the full 200 answer, Content-Length included. */
  headers: OutgoingHttpHeaders
  body: Uint8Array
}

/** Bytes a kept page costs besides its body (headers, key, the entry itself). */
const pageOverheadBytes = 1024

/** Whole answers for small files, least recently used forgotten first; bounded by bytes and by count. */
export class WarmPages {
  private readonly kept = new ByteLru<WarmPage>(warmPagesBytes, maxWarmPages, page => page.body.byteLength + pageOverheadBytes)
  private hits = 0

  /** The answer kept under `key`, if any. */
  get (key: string): WarmPage | undefined {
    const page = this.kept.get(key)
    if (page !== undefined) this.hits++
    return page
  }

  /** Keeps `page` under `key` (a page too large for the whole bound is not kept). */
  set (key: string, page: WarmPage): void {
    if (page.body.byteLength + pageOverheadBytes <= this.kept.capacityBytes) this.kept.set(key, page)
  }

  /** Pages held, their bytes, and the requests they answered. */
  stats (): { pages: number, bytes: number, hits: number } {
    return { pages: this.kept.size, bytes: this.kept.bytes, hits: this.hits }
  }
}
