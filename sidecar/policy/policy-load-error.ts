// The startup error of invalid policies (exit 2). Its own module, so `run` recognises it
// without loading the policy store.

export class PolicyLoadError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'PolicyLoadError';
  }
}
