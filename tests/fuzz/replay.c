/*
 * replay.c - the main() of a fuzz target built without libFuzzer: runs the target's
 * LLVMFuzzerTestOneInput over the files and directories named (each file, and for small ones
 * every prefix too, for the truncation paths). ctest runs it over the checked-in seeds, so
 * every harness runs in every build, the ASan one included.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *const f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 0;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        abort();
    for (;;) {
        if (n == cap) {
            cap *= 2;
            uint8_t *const grown = realloc(buf, cap);
            if (grown == NULL)
                abort();
            buf = grown;
        }
        const size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    (void)LLVMFuzzerTestOneInput(buf, n);
    /* every prefix of a small seed too: the truncation paths */
    for (size_t k = 0; n <= 4096 && k < n; k += 1 + k / 8)
        (void)LLVMFuzzerTestOneInput(buf, k);
    free(buf);
    return 1;
}

int
main(int argc, char **argv)
{
    size_t runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            runs += (size_t)run_file(argv[i]);
            continue;
        }
        DIR *const d = opendir(argv[i]);
        if (d == NULL) {
            perror(argv[i]);
            return 1;
        }
        const struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            runs += (size_t)run_file(path);
        }
        closedir(d);
    }
    fprintf(stderr, "%s: %zu inputs\n", argv[0], runs);
    return runs > 0 ? 0 : 1;
}
