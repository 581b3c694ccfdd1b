// The startup error of an invalid GraphQL schema file (exit 2, like invalid policies). Its own
// module, so `run` can recognise it without loading graphql-js when no GraphQL is configured.

export class SchemaLoadError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'SchemaLoadError';
  }
}
