/*
 * bench_shim.h - a C API over Google Benchmark, so the benchmarks themselves are C (STYLE 48:
 * the timing harness is kept apart from the workloads).
 *
 * Register each benchmark before sgs_bench_main(); its function is called once per run (with
 * fresh iteration counts while Google Benchmark calibrates, so expensive set-up belongs in a
 * context that outlives the calls) and, with threads, once on each thread concurrently:
 *
 *     static void
 *     bm_thing(sgs_bench_state *st, void *arg)
 *     {
 *         ... set-up, known-answer check: on failure sgs_bench_skip(st, "why"); return; ...
 *         while (sgs_bench_keep_running(st))
 *             ... the measured work ...
 *         sgs_bench_set_items(st, sgs_bench_iterations(st));
 *     }
 *     sgs_bench *b = sgs_bench_register("thing", bm_thing, ctx);
 *     sgs_bench_add_arg(b, 1024);
 *
 * With threads, every thread blocks in its first sgs_bench_keep_running() until all have
 * arrived, and again when the loop ends: shared state that thread 0 sets up before the loop is
 * visible to the others inside it, and thread 0 may tear it down after its loop.
 * THREAD SAFETY: registration and sgs_bench_main() from one thread; the sgs_bench_state
 * functions only on the thread that was handed that state.
 */
#ifndef SGS_BENCH_SHIM_H
#define SGS_BENCH_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sgs_bench sgs_bench;             /* a registered benchmark (opaque) */
typedef struct sgs_bench_state sgs_bench_state; /* one run of it on one thread (opaque) */

typedef void (*sgs_bench_fn)(sgs_bench_state *st, void *arg);

typedef enum sgs_bench_unit {
    SGS_BENCH_NS = 0,
    SGS_BENCH_US,
    SGS_BENCH_MS,
    SGS_BENCH_S
} sgs_bench_unit;

/*
 * Registers fn under `name` (copied); `arg` is passed to every call and must outlive
 * sgs_bench_main(). The returned handle (owned by Google Benchmark, never freed by the caller)
 * takes the options below; NULL on failure, which every option accepts as a no-op.
 */
sgs_bench *sgs_bench_register(const char *name, sgs_bench_fn fn, void *arg);

/* Options of a registered benchmark; each mirrors the Google Benchmark method named. */
void sgs_bench_add_arg(sgs_bench *b, int64_t x); /* ->Arg(x) */
void sgs_bench_add_range(sgs_bench *b, int64_t lo, int64_t hi,
                         int multiplier);                      /* ->RangeMultiplier()->Range() */
void sgs_bench_set_arg_name(sgs_bench *b, const char *name);   /* ->ArgName(name) */
void sgs_bench_add_threads(sgs_bench *b, int n);               /* ->Threads(n), repeatable */
void sgs_bench_add_thread_range(sgs_bench *b, int lo, int hi); /* ->ThreadRange(lo, hi) */
void sgs_bench_use_real_time(sgs_bench *b);                    /* ->UseRealTime() */
void sgs_bench_set_unit(sgs_bench *b, sgs_bench_unit unit);    /* ->Unit(unit) */

/* Inside a run. keep_running returns 1 while more iterations are wanted. */
int sgs_bench_keep_running(sgs_bench_state *st);
int64_t sgs_bench_arg(const sgs_bench_state *st, int i); /* state.range(i) */
int sgs_bench_thread_index(const sgs_bench_state *st);
int sgs_bench_thread_count(const sgs_bench_state *st);
int64_t sgs_bench_iterations(const sgs_bench_state *st);      /* iterations done so far */
void sgs_bench_set_bytes(sgs_bench_state *st, int64_t bytes); /* bytes/s counter */
void sgs_bench_set_items(sgs_bench_state *st, int64_t items); /* items/s counter */
void sgs_bench_counter(sgs_bench_state *st, const char *name, double v);      /* shown as is */
void sgs_bench_rate_counter(sgs_bench_state *st, const char *name, double v); /* v per second */
void sgs_bench_pause(sgs_bench_state *st);  /* stop the clock ... */
void sgs_bench_resume(sgs_bench_state *st); /* ... and restart it */

/*
 * Marks the run as skipped with a message (Google Benchmark's SkipWithError): before the loop,
 * the loop then runs no iteration; inside it, break out right after. A skipped run makes
 * sgs_bench_main() return 1, so a failed known-answer check fails the smoke test.
 */
void sgs_bench_skip(sgs_bench_state *st, const char *msg);

/* benchmark::Initialize (which consumes --benchmark_* options), RunSpecifiedBenchmarks,
   Shutdown. Returns 0, 1 when a run was skipped, 2 for an unrecognised argument. */
int sgs_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* SGS_BENCH_SHIM_H */
