/** Invalid configuration: the CLI prints it and exits with code 2, as DESIGN.md fixes for bad usage or config. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${file}${path ? ` at ${path}` : ''}: ${reason}`);
  }
}
