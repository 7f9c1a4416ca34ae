/*
 * import_fuzz.c - libFuzzer target for `cache import` (pcache_admin.c sgs_cache_import): the
 * input is the export file, imported into a cache of the harness's own. Invariants: a status
 * of OK, FORMAT or IO, a failure says why; an import creates no verdict that decides a file:
 * the cache never holds a verdict after any number of imports (see "Import" in pcache.c), so
 * no export can make a signature VALID, or a good signature BAD_SIGNATURE.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.import_corpus).
 */
#include "sigsweep.h"

#include "fuzz_check.h"
#include "fuzz_file.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512], dir[512], err[1024] = "";
    fuzz_file("export.txt", data, size, path, sizeof(path));
    snprintf(dir, sizeof(dir), "%s/cache", fuzz_dir());
    uint64_t count = 0;
    const sgs_status st = sgs_cache_import(dir, path, &count, err, sizeof(err));
    FUZZ_CHECK(st == SGS_OK || st == SGS_ERR_FORMAT || st == SGS_ERR_IO);
    FUZZ_CHECK(st == SGS_OK || err[0] != '\0');
    sgs_cache_info info;
    FUZZ_CHECK(sgs_cache_stats(dir, &info, err, sizeof(err)) == SGS_OK);
    FUZZ_CHECK(info.verdicts == 0 && info.files == 0);
    return 0;
}
