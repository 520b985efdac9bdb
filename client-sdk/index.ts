// `ladle-grid`: the Node SDK.
export { connect, Grid } from './grid.ts';
export type { ConnectOptions, MapArgs, ModuleHandles, TaskFn, TaskHandle, TaskOptions, ResultOf } from './grid.ts';
export type { MapOptions } from './futures-api.ts';
export type { ProgressInfo, ProgressOptions } from './progress.ts';
export type { ReturnWhen } from './waiting.ts';
export type { Need, Capabilities } from '../protocol/needs.ts';
export type { VerifyOption } from '../protocol/limits.ts';
export { Future } from './future.ts';
export type { FutureState, DoneCallback, WaitOptions } from './future.ts';
export { MapResult } from './map-result.ts';
export { MapAsCompleted } from './map-as-completed.ts';
export { LadleError, ErrorCode, RemoteError, DataCloneError, TimeoutError, CancelledError, TaskLostError, ConnectionError, VerificationError } from './errors.ts';
