// What the data path depends on for state the control path replaces (DATA/CONTROL seam): a
// holder of the current immutable snapshot. The request path reads `current` once per call and
// keeps that object for the whole call; a reload publishes a new one, it never mutates one.

export interface Snapshot<T> {
  readonly current: T;
}
