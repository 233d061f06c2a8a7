/**
 * The simulator's event queue: a binary min-heap ordered by (virtual time, insertion sequence), so
 * events at the same instant run in the order they were scheduled and every run is reproducible.
 */
export class EventQueue<T> {
  private readonly heap: Array<{ time: number, seq: number, item: T }> = []
  private seq = 0

  get size (): number {
    return this.heap.length
  }

  push (time: number, item: T): void {
    const heap = this.heap
    heap.push({ time, seq: this.seq++, item })
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  /** The earliest entry, removed; undefined when empty. */
  pop (): { time: number, item: T } | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop()
    if (last !== undefined && heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && this.less(l, m)) m = l
        if (r < heap.length && this.less(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return { time: top.time, item: top.item }
  }

  private less (a: number, b: number): boolean {
    const x = this.heap[a]
    const y = this.heap[b]
    if (x === undefined || y === undefined) return false
    return x.time < y.time || (x.time === y.time && x.seq < y.seq)
  }

  private swap (a: number, b: number): void {
    const x = this.heap[a]
    const y = this.heap[b]
    if (x === undefined || y === undefined) return
    this.heap[a] = y
    this.heap[b] = x
  }
}
