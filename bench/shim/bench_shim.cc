/*
 * bench_shim.cc - the C API of bench_shim.h over Google Benchmark (>= 1.7).
 *
 * DESIGN: the opaque C handles are the C++ objects themselves, cast at the boundary: an
 * sgs_bench is a benchmark::internal::Benchmark, an sgs_bench_state a benchmark::State. The
 * only state of our own is the count of skipped runs, so that a failed known-answer check
 * turns into a non-zero exit status (the smoke test must notice it).
 */
#include "bench_shim.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <new>
#include <vector>

namespace
{

std::atomic<int> skipped_runs{0};

benchmark::State &
state_of(sgs_bench_state *st)
{
    return *reinterpret_cast<benchmark::State *>(st);
}

const benchmark::State &
state_of(const sgs_bench_state *st)
{
    return *reinterpret_cast<const benchmark::State *>(st);
}

benchmark::internal::Benchmark *
bench_of(sgs_bench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}

double
min_of(const std::vector<double> &v)
{
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

double
max_of(const std::vector<double> &v)
{
    return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
}

} /* namespace */

extern "C" {

sgs_bench *
sgs_bench_register(const char *name, sgs_bench_fn fn, void *arg)
{
    if (name == nullptr || fn == nullptr)
        return nullptr;
    try {
        benchmark::internal::Benchmark *const b =
            benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &s) {
                fn(reinterpret_cast<sgs_bench_state *>(&s), arg);
            });
        /* With --benchmark_repetitions, the best and worst run beside mean, median, stddev
           (STYLE 48: min and median). */
        b->ComputeStatistics("min", min_of)->ComputeStatistics("max", max_of);
        return reinterpret_cast<sgs_bench *>(b);
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}

void
sgs_bench_add_arg(sgs_bench *b, int64_t x)
{
    if (b != nullptr)
        bench_of(b)->Arg(x);
}

void
sgs_bench_add_range(sgs_bench *b, int64_t lo, int64_t hi, int multiplier)
{
    if (b != nullptr)
        bench_of(b)->RangeMultiplier(multiplier)->Range(lo, hi);
}

void
sgs_bench_set_arg_name(sgs_bench *b, const char *name)
{
    if (b != nullptr && name != nullptr)
        bench_of(b)->ArgName(name);
}

void
sgs_bench_add_threads(sgs_bench *b, int n)
{
    if (b != nullptr)
        bench_of(b)->Threads(n);
}

void
sgs_bench_add_thread_range(sgs_bench *b, int lo, int hi)
{
    if (b != nullptr)
        bench_of(b)->ThreadRange(lo, hi);
}

void
sgs_bench_use_real_time(sgs_bench *b)
{
    if (b != nullptr)
        bench_of(b)->UseRealTime();
}

void
sgs_bench_set_unit(sgs_bench *b, sgs_bench_unit unit)
{
    static const benchmark::TimeUnit units[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                                benchmark::kMillisecond, benchmark::kSecond};
    if (b != nullptr && unit >= SGS_BENCH_NS && unit <= SGS_BENCH_S)
        bench_of(b)->Unit(units[unit]);
}

int
sgs_bench_keep_running(sgs_bench_state *st)
{
    return state_of(st).KeepRunning() ? 1 : 0;
}

int64_t
sgs_bench_arg(const sgs_bench_state *st, int i)
{
    return state_of(st).range(static_cast<std::size_t>(i));
}

int
sgs_bench_thread_index(const sgs_bench_state *st)
{
    return state_of(st).thread_index();
}

int
sgs_bench_thread_count(const sgs_bench_state *st)
{
    return state_of(st).threads();
}

int64_t
sgs_bench_iterations(const sgs_bench_state *st)
{
    return static_cast<int64_t>(state_of(st).iterations());
}

void
sgs_bench_set_bytes(sgs_bench_state *st, int64_t bytes)
{
    state_of(st).SetBytesProcessed(bytes);
}

void
sgs_bench_set_items(sgs_bench_state *st, int64_t items)
{
    state_of(st).SetItemsProcessed(items);
}

void
sgs_bench_counter(sgs_bench_state *st, const char *name, double v)
{
    state_of(st).counters[name] = benchmark::Counter(v);
}

void
sgs_bench_rate_counter(sgs_bench_state *st, const char *name, double v)
{
    state_of(st).counters[name] = benchmark::Counter(v, benchmark::Counter::kIsRate);
}

void
sgs_bench_pause(sgs_bench_state *st)
{
    state_of(st).PauseTiming();
}

void
sgs_bench_resume(sgs_bench_state *st)
{
    state_of(st).ResumeTiming();
}

void
sgs_bench_skip(sgs_bench_state *st, const char *msg)
{
    skipped_runs.fetch_add(1, std::memory_order_relaxed);
    state_of(st).SkipWithError(msg != nullptr ? msg : "skipped");
}

int
sgs_bench_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    const int n = skipped_runs.load();
    if (n > 0)
        std::fprintf(stderr, "%s: %d run(s) skipped: see the error messages above\n",
                     argc > 0 ? argv[0] : "sigsweep_bench", n);
    return n > 0 ? 1 : 0;
}

} /* extern "C" */
