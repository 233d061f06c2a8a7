import './quiet-warnings.ts'
import { Command, CommanderError } from 'commander'
import { errorBody } from '../foundations/errors.ts'
import type { GlobalOptions } from './context.ts'

type Globals = () => GlobalOptions
/**
 * The command modules, each with the top-level commands it defines. Only the module of the
 * command being run is loaded: loading all of them (the node, the ledger, libp2p's crypto) costs
 * more start-up than a whole `keynet get` of a small file.
 */
const commandModules: Array<{ commands: string[], register: (program: Command, globals: Globals) => Promise<void> }> = [
  { commands: ['init'], register: async (p, g) => { (await import('./commands/init.ts')).initCommand(p, g) } },
  { commands: ['node', 'devnet'], register: async (p, g) => { const m = await import('./commands/node.ts'); m.nodeCommands(p); m.devnetCommands(p, g) } },
  { commands: ['name'], register: async (p, g) => { (await import('./commands/name.ts')).nameCommands(p, g) } },
  { commands: ['account', 'status'], register: async (p, g) => { const m = await import('./commands/account.ts'); m.accountCommands(p, g); m.statusCommand(p, g) } },
  { commands: ['publish', 'put', 'get', 'fetch', 'export'], register: async (p, g) => { (await import('./commands/content.ts')).contentCommands(p, g) } },
  { commands: ['provider'], register: async (p, g) => { (await import('./commands/provider.ts')).providerCommands(p, g) } },
  { commands: ['market', 'deal', 'wallet'], register: async (p, g) => { const m = await import('./commands/market.ts'); m.marketCommands(p, g); m.dealCommands(p, g); m.walletCommand(p, g) } },
  { commands: ['top'], register: async (p, g) => { (await import('./commands/top.ts')).topCommand(p, g) } },
  { commands: ['kv'], register: async (p, g) => { (await import('./commands/kv.ts')).kvCommands(p, g) } },
  { commands: ['service'], register: async (p, g) => { (await import('./commands/service.ts')).serviceCommands(p, g) } },
  { commands: ['compute'], register: async (p, g) => { (await import('./commands/compute.ts')).computeCommands(p, g) } },
  { commands: ['import'], register: async (p, g) => { (await import('./commands/import.ts')).importCommand(p, g) } }
]
/** Global options that take a value (the command name is the first argument that is neither). */
const valueOptions = new Set(['--api', '--from', '--home'])

/** The top-level command named on the command line, if any. */
function commandNamed (argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (valueOptions.has(arg)) { i++; continue }
    if (!arg.startsWith('-')) return arg
  }
  return undefined
}

const program = new Command()
program
  .name('keynet')
  .description('Keynet: .key names on a Byzantine-fault-tolerant ledger, and the nodes that run it')
  .option('--api <url>', 'node API to talk to (default: KEYNET_API, else the local devnet)')
  .option('--json', 'print machine-readable JSON')
  .option('--from <identity>', 'keystore identity to sign with ("dev" = the devnet developer account)')
  .option('--home <dir>', 'Keynet home folder (default: KEYNET_HOME, else ~/.keynet)')
  .version('0.1.0', '-V, --version')
  .showHelpAfterError()
  .exitOverride()

const globals = (): GlobalOptions => program.opts<GlobalOptions>()
const named = commandNamed(process.argv.slice(2))
const owner = commandModules.find(m => named !== undefined && m.commands.includes(named))
// No command, `help`, or an unknown one: every command, for the help text and suggestions.
for (const m of owner === undefined ? commandModules : [owner]) await m.register(program, globals)

/** Commands whose action returns while their work goes on: a node, a foreground devnet. */
const keepsRunning = new Set(['node start', 'devnet'])
let ran = ''
program.hook('postAction', (_root, action) => {
  ran = action.parent === null || action.parent === program ? action.name() : `${action.parent.name()} ${action.name()}`
})

try {
  await program.parseAsync(process.argv)
  // A one-shot command is done: exit now rather than wait for timers a library left behind
  // (libp2p debounces a peer-store write by 1 s after its host stopped).
  if (!keepsRunning.has(ran)) process.stdout.write('', () => { process.exit(process.exitCode ?? 0) })
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode)
  if (program.opts<GlobalOptions>().json === true) process.stdout.write(`${JSON.stringify(errorBody(err))}\n`)
  else process.stderr.write(`keynet: ${(err as Error).name}: ${(err as Error).message}\n`)
  process.exit(1)
}
