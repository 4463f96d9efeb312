// Records every unhandled rejection and uncaught exception while installed, so that a spec can
// assert there were none (instead of only hoping the runner notices).
export class UnexpectedErrors {
  readonly seen: Array<{ kind: 'unhandledRejection' | 'uncaughtException'; error: unknown }> = [];
  private readonly onRejection = (error: unknown): void => this.record('unhandledRejection', error);
  private readonly onException = (error: unknown): void => this.record('uncaughtException', error);

  record(kind: 'unhandledRejection' | 'uncaughtException', error: unknown): void {
    this.seen.push({ kind, error });
  }

  /** Both listeners are on `process`. */
  get installed(): boolean {
    return process.listeners('unhandledRejection').includes(this.onRejection) && process.listeners('uncaughtException').includes(this.onException);
  }

  install(): void {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
  }

  uninstall(): void {
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }

  /** A readable list of what was seen, empty when nothing was. */
  describe(): string[] {
    return this.seen.map(({ kind, error }) => `${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}
