// Splits what goes out into frames the coordinator (or a peer page)
// accepts: in order, each batch at most `maxItems` long and at most
// `maxBytes` by `size`. An item larger than `maxBytes` alone goes in a batch
// of its own (callers refuse such items before they get here).
export function batchesBySize<T>(items: readonly T[], size: (item: T) => number, maxBytes: number, maxItems: number): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (batch.length > 0 && (batch.length >= maxItems || bytes + n > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += n;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
