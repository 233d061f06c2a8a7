import './quiet-warnings.ts'
import { Command, CommanderError } from 'commander'
import { errorBody } from '../foundations/errors.ts'
import { accountCommands, statusCommand } from './commands/account.ts'
import { initCommand } from './commands/init.ts'
import { nameCommands } from './commands/name.ts'
import { contentCommands } from './commands/content.ts'
import { providerCommands } from './commands/provider.ts'
import { topCommand } from './commands/top.ts'
import { kvCommands } from './commands/kv.ts'
import { serviceCommands } from './commands/service.ts'
import { computeCommands } from './commands/compute.ts'
import { devnetCommands, nodeCommands } from './commands/node.ts'
import type { GlobalOptions } from './context.ts'

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
initCommand(program, globals)
nodeCommands(program)
devnetCommands(program, globals)
nameCommands(program, globals)
accountCommands(program, globals)
statusCommand(program, globals)
contentCommands(program, globals)
providerCommands(program, globals)
topCommand(program, globals)
kvCommands(program, globals)
serviceCommands(program, globals)
computeCommands(program, globals)

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
