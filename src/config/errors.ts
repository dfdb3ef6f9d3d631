/**
 * Invalid configuration: the CLI prints it and exits with code 2, the exit code this project uses for bad usage or
 * config. `file` is where the setting came from (a file, or `environment variable COSELL__…`); empty when the error is
 * raised where only the setting is known (a secret reference, a certificate file), in which case the message starts
 * with it.
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(file ? `${file}${path ? ` at ${path}` : ''}: ${reason}` : `${path || 'configuration'}: ${reason}`);
  }
}
