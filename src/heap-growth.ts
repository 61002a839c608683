// How far V8 lets the heap grow past what the last full collection kept. Until it has measured the program's
// speed, V8 allows up to 4 times that: a relay or worker whose live heap is ~45 MB held 140 MB for its
// first minute under load, then settled at ~90 (bench:drain, --trace-gc). A fixed factor keeps the heap in
// proportion to what is live from the start; 1.3 is about what V8 picks by itself once it has measured.
// Imported first by the entry point, before the heap has grown. `node --heap-growing-percent=N` wins.
import { setFlagsFromString } from 'node:v8';

const HEAP_GROWING_PERCENT = 30;

if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
