// Types for graphql-depth-limit 1.1.0 (it ships none): used by the differential depth test
// and the benchmark only.
declare module 'graphql-depth-limit' {
  import type { ValidationRule } from 'graphql';
  function depthLimit(
    maxDepth: number,
    options?: { ignore?: Array<string | RegExp | ((name: string) => boolean)> },
    callback?: (depths: Record<string, number>) => void,
  ): ValidationRule;
  export default depthLimit;
}
