// The GraphQL endpoint's parts that load graphql-js (CONTROL path, imported only with
// `inbound.graphql`): the app's schema store (watched, reloaded) and the forwarder to the
// app's GraphQL server. Its filters and its place in the inbound listener: app/chains.ts,
// app/listeners.ts.

export { GraphqlForwarder } from '../proxy/graphql-forwarder.js';
export { SchemaStore, type SchemaStatus } from '../graphql/schema-store.js';
