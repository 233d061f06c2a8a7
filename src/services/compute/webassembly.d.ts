// The `WebAssembly` global as Node provides it. TypeScript ships these types only with the DOM
// library, which this project does not load; this is the part the compute runner uses.
declare namespace WebAssembly {
  type ImportValue = ((...args: never[]) => unknown) | Global | Memory | Table | number
  type Imports = Record<string, Record<string, ImportValue>>
  type Exports = Record<string, ((...args: never[]) => unknown) | Global | Memory | Table>
  class Module {
    constructor (bytes: BufferSource)
    static exports (module: Module): Array<{ name: string, kind: string }>
    static imports (module: Module): Array<{ module: string, name: string, kind: string }>
  }
  class Instance {
    constructor (module: Module, imports?: Imports)
    readonly exports: Exports
  }
  class Memory {
    constructor (descriptor: { initial: number, maximum?: number })
    readonly buffer: ArrayBuffer
    grow (pages: number): number
  }
  class Table {
    readonly length: number
  }
  class Global {
    constructor (descriptor: { value: string, mutable?: boolean }, value?: unknown)
    value: unknown
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  function compile (bytes: BufferSource): Promise<Module>
  function validate (bytes: BufferSource): boolean
  function instantiate (module: Module, imports?: Imports): Promise<Instance>
}
