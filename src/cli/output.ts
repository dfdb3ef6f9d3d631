/** Command results go to stdout (JSON with --json, else readable text); logs and diagnostics go to stderr. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
