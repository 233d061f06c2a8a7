/**
 * Content types by file extension, for serving files of a site: the common web formats, text
 * ones with `; charset=utf-8`, anything else `application/octet-stream` (never sniffed).
 */

/** Served when the extension is unknown or missing: browsers download it rather than guess. */
export const defaultContentType = 'application/octet-stream'

const textTypes: Record<string, string> = {
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  cjs: 'text/javascript',
  txt: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  xml: 'application/xml',
  xhtml: 'application/xhtml+xml',
  rss: 'application/rss+xml',
  atom: 'application/atom+xml',
  json: 'application/json',
  map: 'application/json',
  jsonld: 'application/ld+json',
  webmanifest: 'application/manifest+json',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  ics: 'text/calendar',
  vtt: 'text/vtt'
}

const binaryTypes: Record<string, string> = {
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
  pdf: 'application/pdf',
  wasm: 'application/wasm',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  webm: 'video/webm',
  ogv: 'video/ogg',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  oga: 'audio/ogg',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  wav: 'audio/wav',
  flac: 'audio/flac',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  car: 'application/vnd.ipld.car'
}

/**
 * The `Content-Type` for a file name or path (`index.html` → `text/html; charset=utf-8`,
 * `logo.PNG` → `image/png`); unknown or missing extensions give `application/octet-stream`.
 */
export function contentTypeFor (fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  if (dot <= 0) return defaultContentType // no extension, or a dot file such as `.env`
  const ext = base.slice(dot + 1).toLowerCase()
  const text = Object.hasOwn(textTypes, ext) ? textTypes[ext] : undefined
  if (text !== undefined) return `${text}; charset=utf-8`
  return (Object.hasOwn(binaryTypes, ext) ? binaryTypes[ext] : undefined) ?? defaultContentType
}
