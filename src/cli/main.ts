#!/usr/bin/env node
/**
 * The `maskrcnn` command line: one program, subcommands registered from their own files.
 */
import { Command } from 'commander';
import { registerConvertCommand } from './convert_command';
import { registerDemoCommand } from './demo_command';
import { registerDownloadCommand } from './download_command';
import { registerEvalCommand } from './eval_command';
import { registerPredictCommand } from './predict_command';
import { registerTrainCommand } from './train_command';
import { packageVersion } from './version';

/**
 * Builds the `maskrcnn` program with every subcommand.
 *
 * @example
 * ```ts
 * await createProgram().parseAsync(['node', 'maskrcnn', 'eval', '--gt', 'gt.json', '--dt', 'dt.json']);
 * ```
 */
export function createProgram(): Command {
  const program = new Command('maskrcnn');
  program.description('Mask R-CNN on TensorFlow.js, numerically equal to torchvision').showHelpAfterError();
  program.version(packageVersion(), '-V, --version', 'print the version of maskrcnn-tfjs');
  registerPredictCommand(program);
  registerEvalCommand(program);
  registerDemoCommand(program);
  registerTrainCommand(program);
  registerDownloadCommand(program);
  registerConvertCommand(program);
  return program;
}

if (require.main === module) {
  createProgram()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    });
}
