// `ladle`: the Node SDK.
export { connect, Grid } from './grid.ts';
export type { ConnectOptions, MapOptions, ModuleHandles, TaskFn, TaskHandle, ResultOf } from './grid.ts';
export { Future } from './future.ts';
export type { FutureState, DoneCallback, WaitOptions } from './future.ts';
export { MapResult } from './map-result.ts';
export { RemoteError, TimeoutError, CancelledError, TaskLostError, ConnectionError } from './errors.ts';
