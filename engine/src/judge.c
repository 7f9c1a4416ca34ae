/*
 * judge.c - the judge table the pipeline walks, and the judge of a file with no signature.
 *
 * Order matters: the judges that look into F itself (a certificate under trust diagnose, a
 * kernel module, a PE image) come before the one that says "no signature"; the module judge
 * before PE, whose detect takes any file of 64 bytes; CMS comes before raw, whose detect
 * accepts any signature file. So every job has exactly one judge.
 */
#include "judge.h"

static int
unsigned_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)e;
    (void)w;
    return in->sig_file == SGS_SIGFILE_NONE;
}

/* No F.p7s, no F<suffix>, and F carries no signature of its own: remembered for good. */
static sgs_verdict
unsigned_judge(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    const job *const j = in->j;
    if (j->p7s_path != NULL)
        sgs_say(w, "no signature file %s or %s", j->sig_path, j->p7s_path);
    else
        sgs_say(w, "no signature file %s", j->sig_path);
    if (e->cfg.op == SGS_OP_VERIFY)
        sgs_vstore_put_record(e, w, in->sb, NULL, &sgs_vstore_for_good, SGS_V_NO_SIGNATURE, rec);
    return SGS_V_NO_SIGNATURE;
}

const sgs_judge sgs_judge_unsigned = {"unsigned", SGS_SIGFILE_NONE, SGS_JUDGE_CACHE_RECORD,
                                      unsigned_detect, unsigned_judge};

const sgs_judge *const sgs_judges[] = {&sgs_judge_cert,     &sgs_judge_kmod,
                                       &sgs_judge_pe,       &sgs_judge_unsigned,
                                       &sgs_judge_minisign, &sgs_judge_signify,
                                       &sgs_judge_cms,      &sgs_judge_raw,
                                       NULL};

const sgs_judge *
sgs_judge_for(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    for (size_t i = 0; sgs_judges[i] != NULL; i++)
        if ((sgs_judges[i]->sig_files & in->sig_file) != 0 && sgs_judges[i]->detect(e, w, in))
            return sgs_judges[i];
    assert(!"the table's last judges accept every job");
    return &sgs_judge_unsigned;
}

int
sgs_judge_caches(unsigned sig_file, sgs_judge_cache cache)
{
    for (size_t i = 0; sgs_judges[i] != NULL; i++)
        if ((sgs_judges[i]->sig_files & sig_file) != 0 && sgs_judges[i]->cache == cache)
            return 1;
    return 0;
}
