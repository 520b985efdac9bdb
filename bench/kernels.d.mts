// Types for kernels.mjs, which stays plain JavaScript so Piscina can load it.
export interface MonteCarloJob {
  seed: number;
  /** Points drawn. */
  n: number;
}
export declare function identity(x: number): number;
export declare function monteCarlo(job: MonteCarloJob): number;
export declare function timeMonteCarlo(job: MonteCarloJob): { inside: number; ms: number };
export declare function rastrigin(genome: number[]): number;
