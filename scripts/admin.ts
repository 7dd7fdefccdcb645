/** The admin CLI: `npm run admin -- <command> [options]` against a local or deployed worker. */
import { runCli } from './admin/cli';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  now: () => Date.now(),
});
