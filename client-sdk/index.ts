// `ladle-grid`: the Node SDK.
export { connect, Grid } from './grid.ts';
export type { ConnectOptions, MapArgs, ModuleHandles, TaskFn, TaskHandle, TaskOptions, ResultOf } from './grid.ts';
export type { MapOptions } from '../futures/futures-api.ts';
export type { ProgressInfo, ProgressOptions } from '../futures/progress.ts';
export type { ReturnWhen } from '../futures/waiting.ts';
export type { Need, Capabilities } from '../protocol/needs.ts';
export type { VerifyOption } from '../protocol/limits.ts';
export { Future } from '../futures/future.ts';
export type { FutureState, DoneCallback, WaitOptions } from '../futures/future.ts';
export { MapResult } from '../futures/map-result.ts';
export { MapAsCompleted } from '../futures/map-as-completed.ts';
export { LadleError, ErrorCode, RemoteError, DataCloneError, TimeoutError, CancelledError, TaskLostError, ConnectionError, VerificationError } from '../futures/errors.ts';
