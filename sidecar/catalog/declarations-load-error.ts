// The startup error of invalid catalog declarations (exit 2, like invalid policies). Its own
// module, so `run` can recognise it without loading the .proto parser.

export class DeclarationsLoadError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'DeclarationsLoadError';
  }
}
