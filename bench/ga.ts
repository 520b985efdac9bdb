// A DEAP-style genetic algorithm (issue 17): each generation evaluates a
// population of 200 genomes with one map of a ~1 us fitness (Rastrigin),
// then selects, crosses and mutates them here. Nearly all of a generation
// is the map's overhead, so this is the per-call cost a user feels most.
// Ladle's `grid.map` (chunked automatically unless told otherwise) against
// Piscina's 2 threads running the same kernel, in turns in the same run.
import type { Piscina } from 'piscina';
import { ms, percentile, piscinaMap, withGrid, withPool, type BenchGrid } from './harness.ts';
import { rate, type ScenarioResult } from './table.ts';

const POPULATION = 200;
const GENES = 10;
const WARM_GENERATIONS = 30;
/** Timed generations per side, taken in blocks that alternate between the sides. */
const GENERATIONS = 150;
const BLOCK = 10;

/** mulberry32: the same stream on both sides, so both evolve the same populations. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Genome = number[];

/** Tournament selection (3), blend crossover, Gaussian-ish mutation: DEAP's eaSimple in miniature. */
function nextGeneration(pop: Genome[], fitness: number[], rand: () => number): Genome[] {
  const pick = (): Genome => {
    let best = Math.floor(rand() * pop.length);
    for (let k = 0; k < 2; k++) {
      const other = Math.floor(rand() * pop.length);
      if (fitness[other] < fitness[best]) best = other;
    }
    return pop[best];
  };
  const out: Genome[] = [];
  while (out.length < pop.length) {
    const a = pick();
    const b = pick();
    const alpha = rand();
    const child = a.map((x, i) => alpha * x + (1 - alpha) * b[i]);
    for (let i = 0; i < child.length; i++) if (rand() < 0.1) child[i] += (rand() - 0.5) * 0.5;
    out.push(child);
  }
  return out;
}

function initialPopulation(rand: () => number): Genome[] {
  return Array.from({ length: POPULATION }, () => Array.from({ length: GENES }, () => (rand() - 0.5) * 10.24));
}

/** Runs `generations` generations from `state`, timing each; returns the best fitness seen. */
async function evolve(
  state: { pop: Genome[]; rand: () => number },
  evaluate: (pop: Genome[]) => PromiseLike<number[]>,
  generations: number,
  into?: number[],
): Promise<number> {
  let best = Infinity;
  for (let g = 0; g < generations; g++) {
    const t0 = ms();
    const fitness = await evaluate(state.pop);
    state.pop = nextGeneration(state.pop, fitness, state.rand);
    into?.push(ms() - t0);
    for (const f of fitness) best = Math.min(best, f);
  }
  return best;
}

export function ga(): Promise<ScenarioResult> {
  return withGrid((g: BenchGrid) =>
    withPool(async (pool: Piscina) => {
      const { grid, kernels } = g;
      const ladleAuto = (pop: Genome[]) => grid.map(kernels.rastrigin, pop);
      const ladleSingle = (pop: Genome[]) => grid.map(kernels.rastrigin, pop, { chunkSize: 1 });
      const piscina = (pop: Genome[]) => piscinaMap<Genome, number>(pool, 'rastrigin', pop);
      // Both sides evaluate one population alike (to rounding: Chromium's and
      // Node's Math.cos may differ in the last bit), or the comparison is void.
      const check = initialPopulation(rng(7));
      const [l, p] = [await ladleAuto(check), await piscina(check)];
      if (l.length !== POPULATION || l.some((x, i) => !(Math.abs(x - p[i]) <= 1e-9 * Math.abs(p[i])))) throw new Error('ga: Ladle and Piscina disagree on a fitness');
      const states = { auto: { pop: initialPopulation(rng(1)), rand: rng(2) }, single: { pop: initialPopulation(rng(1)), rand: rng(2) }, piscina: { pop: initialPopulation(rng(1)), rand: rng(2) } };
      await evolve(states.auto, ladleAuto, WARM_GENERATIONS);
      await evolve(states.single, ladleSingle, WARM_GENERATIONS);
      await evolve(states.piscina, piscina, WARM_GENERATIONS);
      const times = { auto: [] as number[], single: [] as number[], piscina: [] as number[] };
      const tasksRun = async () => (await g.coordinator.stats()).completed;
      let autoTasks = 0;
      for (let done = 0; done < GENERATIONS; done += BLOCK) {
        const before = await tasksRun();
        await evolve(states.auto, ladleAuto, BLOCK, times.auto);
        autoTasks += (await tasksRun()) - before;
        await evolve(states.single, ladleSingle, BLOCK, times.single);
        await evolve(states.piscina, piscina, BLOCK, times.piscina);
      }
      const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
      const auto = median(times.auto);
      const single = median(times.single);
      const base = median(times.piscina);
      return {
        rows: [
          rate('GA generation, 200 x ~1 us fitness, median', 'ms', auto, base, { target: '<= 1.0x', met: auto <= base }),
          rate('GA generation, one task per call (chunkSize 1)', 'ms', single, base),
        ],
        // Tasks per generation of the default map: automatic chunking's doing.
        detail: { tasksPerGeneration: autoTasks / GENERATIONS, population: POPULATION, genes: GENES, generations: GENERATIONS, ladleAutoMs: times.auto, ladleSingleMs: times.single, piscinaMs: times.piscina },
      };
    }, 2),
  );
}
