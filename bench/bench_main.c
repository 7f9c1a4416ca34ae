/*
 * bench_main.c - sigsweep_bench: every suite registered, then Google Benchmark's own command
 * line (--benchmark_filter, --benchmark_min_time, --benchmark_format=json, ...; see --help).
 *
 * DESIGN: suites only register at start-up; files and keys are made on first use by the
 * benchmarks the filter selects, and everything made is removed at exit. The exit status is
 * non-zero when a run was skipped, i.e. when a known-answer check failed.
 */
#include "bench_util.h"

#include <stdio.h>

typedef struct suite {
    const char *name;
    void *(*reg)(sgs_bench_env *env);
    void (*free)(void *ctx);
} suite;

static const suite suites[] = {
    {"digest", sgs_digest_bench_register, sgs_digest_bench_free},
    {"verify", sgs_verify_bench_register, sgs_verify_bench_free},
    {"keys", sgs_keys_bench_register, sgs_keys_bench_free},
    {"cache", sgs_cache_bench_register, sgs_cache_bench_free},
    {"pool", sgs_pool_bench_register, sgs_pool_bench_free},
    {"engine", sgs_engine_bench_register, sgs_engine_bench_free},
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

int
main(int argc, char **argv)
{
    sgs_bench_env env;
    void *ctx[NSUITES];
    int status = 0;
    sgs_bench_env_init(&env);
    for (size_t i = 0; i < NSUITES; i++) {
        ctx[i] = suites[i].reg(&env);
        if (ctx[i] == NULL) {
            fprintf(stderr, "sigsweep_bench: cannot set up the %s suite\n", suites[i].name);
            status = 1;
        }
    }
    if (status == 0)
        status = sgs_bench_main(argc, argv);
    for (size_t i = NSUITES; i-- > 0;)
        suites[i].free(ctx[i]);
    sgs_bench_env_reset(&env);
    return status;
}
