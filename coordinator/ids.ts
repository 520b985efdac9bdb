// The coordinator's kinds of id, branded so that one cannot pass for
// another: a client's session id must never reach a page, and a page's
// worker id is not a client's.
declare const brand: unique symbol;
type Brand<T, Name extends string> = T & { readonly [brand]: Name };

/** An SDK client's session id: with its secret, it resumes the session. */
export type ClientId = Brand<string, 'ClientId'>;
/** A page's worker id (the PeerServer knows it by it too). */
export type PageId = Brand<string, 'PageId'>;
/** A grid-wide task id: the one pages see for tasks the coordinator sends. */
export type TaskId = Brand<number, 'TaskId'>;
/** The name pages know a client's task tree by: random, unrelated to the
 * session id, so that what a page sees lets no one resume or act as the client. */
export type ScopeId = Brand<string, 'ScopeId'>;
