/*
 * consumer.c - a program built against the installed engine (tests/install/destdir.sh): it
 * includes only <sigsweep.h>, links libsigsweep through pkg-config or find_package, and checks
 * what an installed library must get right: the header's version is the library's, the
 * known-answer self-test passes, and an engine can be created and freed.
 */
#include <sigsweep.h>

#include <stdio.h>
#include <string.h>

static void
on_record(void *opaque, const sgs_record *rec)
{
    printf("%s: %s (%s)\n", rec->path, sgs_verdict_name(rec->verdict), rec->reason);
    if (rec->verdict == SGS_V_VALID)
        ++*(int *)opaque;
}

/* consumer VERSION [KEY FILE...]: exit 0 when the versions agree, the self-test passes and
   every FILE is VALID under KEY; prints one line per FILE. */
int
main(int argc, char **argv)
{
    const char *const want = argc > 1 ? argv[1] : "";
    char header[32];
    snprintf(header, sizeof(header), "%d.%d.%d", SGS_VERSION_MAJOR, SGS_VERSION_MINOR,
             SGS_VERSION_PATCH);
    if (strcmp(sgs_version_string(), header) != 0 || strcmp(header, want) != 0) {
        fprintf(stderr, "consumer: library %s, header %s, expected %s\n", sgs_version_string(),
                header, want);
        return 1;
    }
    if (sgs_selftest() != SGS_OK) {
        fputs("consumer: self-test failed\n", stderr);
        return 1;
    }
    int valid = 0;
    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.threads = 1;
    cfg.on_record = on_record;
    cfg.opaque = &valid;
    sgs_engine *e = NULL;
    sgs_status st = sgs_engine_create(&cfg, &e);
    if (st == SGS_OK && argc > 2)
        st = sgs_engine_add_key(e, argv[2]);
    for (int i = 3; st == SGS_OK && i < argc; i++)
        st = sgs_engine_submit(e, argv[i]);
    if (st == SGS_OK)
        st = sgs_engine_finish(e);
    sgs_engine_free(e);
    if (st != SGS_OK) {
        fprintf(stderr, "consumer: %s\n", sgs_status_str(st));
        return 1;
    }
    printf("consumer: sigsweep %s, self-test passed, %d of %d VALID\n", sgs_version_string(),
           valid, argc > 3 ? argc - 3 : 0);
    return valid == (argc > 3 ? argc - 3 : 0) ? 0 : 1;
}
