/**
 * Importing an existing static site: which links a page or style sheet makes, which of them a
 * crawl follows, and where each URL lands in the published folder so old links keep working.
 * Pure: the crawler that fetches and writes is src/services/site-import.
 *
 * @example
 * htmlLinks('<link href="/a.css"><img srcset="x.png 1x, y.png 2x">').links // ['/a.css', 'x.png', 'y.png']
 * storedPath('/about/', true)   // { kind: 'path', path: 'about/index.html', movedIntoFolder: false }
 */
export * from './constants.ts'
export { ImportLimitError } from './errors.ts'
export { cssLinks, htmlLinks, srcsetUrls, type DocumentLinks } from './links.ts'
export { PathTable, type Claim } from './path-table.ts'
export { isCssType, isHtmlType, linkTarget, servedTypeDiffers, storedPath, type LinkTarget, type StoredPath } from './url-path.ts'
