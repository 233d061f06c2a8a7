/**
 * Bounds of importing an existing site (`keynet import`). The first four are defaults of CLI
 * flags; the rest are fixed.
 */

/** HTML pages one import fetches unless `--max-pages` says otherwise: a small static site fits. */
export const defaultMaxPages = 1000
/** Files of any kind (pages, styles, images, scripts) one import fetches unless `--max-files` says otherwise. */
export const defaultMaxFiles = 10_000
/** Bytes one import downloads in all unless `--max-bytes` says otherwise. */
export const defaultMaxImportBytes = 1024 * 1024 * 1024
/** One request (headers and body) unless `--timeout` says otherwise: a stalled origin fails the import instead of hanging it. */
export const defaultRequestTimeoutMs = 15_000
/** Requests to the origin in flight at once: fast on a local origin, gentle on a remote one. */
export const importConcurrency = 4
/** Redirect hops followed for one URL, as browsers bound them (Chromium: 20). */
export const maxRedirects = 10
/** Characters of one URL the crawler follows; longer ones are skipped (generated, not authored, links). */
export const maxUrlChars = 2048
/** Links read from one HTML or CSS document; the rest are ignored and reported. */
export const maxLinksPerDocument = 20_000
/** Bytes of one HTML or CSS document scanned for links (the whole file is still stored). */
export const maxScannedDocumentBytes = 8 * 1024 * 1024
/** Bytes of one decoded path segment: the common file-system limit on a file name. */
export const maxPathSegmentBytes = 255
/** Segments of one stored path. */
export const maxPathDepth = 64
