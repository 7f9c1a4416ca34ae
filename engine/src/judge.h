/*
 * judge.h - one judge per format, behind one interface, and the table the pipeline walks.
 *
 * A job reaches the judges with F opened and fstat'ed and its signature file (if any) read
 * into w->sig: which file is F's signature is decided once, by sgs_job_signature_files()
 * (job.c). The pipeline (verify_job) then walks sgs_judges[] in order and hands the job to
 * the first judge whose detect() accepts it; that judge's return value is the verdict, copied
 * as is. A judge's last statement is its only `return SGS_V_VALID`; every precondition returns
 * early with its own verdict.
 *
 * Adding a format: one file judge_<format>.c defining a `const sgs_judge sgs_judge_<format>`,
 * its declaration below and one entry in sgs_judges[] (judge.c).
 */
#ifndef SGS_JUDGE_H
#define SGS_JUDGE_H

#include "engine.h"

/* Which signature file of F a judge reads (a bit set). */
enum {
    SGS_SIGFILE_NONE = 1u << 0,   /* no detached signature: F itself, or nothing */
    SGS_SIGFILE_P7S = 1u << 1,    /* F.p7s (always CMS) */
    SGS_SIGFILE_SUFFIX = 1u << 2, /* F<suffix> (raw, or CMS or signify by content) */
    SGS_SIGFILE_MINISIG = 1u << 3 /* F.minisig (minisign) */
};

/* What the persistent cache keys a judgement on (vstore.c). */
typedef enum sgs_judge_cache {
    SGS_JUDGE_CACHE_NONE,   /* never stored */
    SGS_JUDGE_CACHE_ANSWER, /* both stat tuples and the key set: a raw signature's answer */
    SGS_JUDGE_CACHE_RECORD  /* the stat tuples, trust material and policy, for a time range */
} sgs_judge_cache;

/* What a judge is given. */
typedef struct sgs_judge_input {
    const job *j;
    int fd;                 /* F, open */
    const struct stat *sb;  /* its fstat */
    const char *sig_path;   /* the signature file read (its bytes: w->sig), or NULL */
    unsigned sig_file;      /* which one it is: one SGS_SIGFILE_* bit */
    size_t siglen;          /* bytes in w->sig; 0 when there is no signature file */
} sgs_judge_input;

typedef struct sgs_judge {
    const char *name;
    unsigned sig_files;     /* the SGS_SIGFILE_* it judges */
    sgs_judge_cache cache;  /* what the cache must key on */
    /* 1 when this judge takes the job (cheap: no verdict, no reason set) */
    int (*detect)(const sgs_engine *e, const worker *w, const sgs_judge_input *in);
    /* The verdict; the reason goes into w->reason, the record's other fields into rec. */
    sgs_verdict (*judge)(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec);
} sgs_judge;

extern const sgs_judge sgs_judge_cert;     /* judge_cms.c: trust diagnose of a certificate */
extern const sgs_judge sgs_judge_kmod;     /* judge_kmod.c: Linux kernel modules */
extern const sgs_judge sgs_judge_pe;       /* judge_pe.c: Authenticode */
extern const sgs_judge sgs_judge_unsigned; /* judge.c: no signature at all */
extern const sgs_judge sgs_judge_cms;      /* judge_cms.c: detached CMS */
extern const sgs_judge sgs_judge_raw;      /* judge_raw.c: raw detached signature */
extern const sgs_judge sgs_judge_minisign; /* judge_edsig.c: F.minisig */
extern const sgs_judge sgs_judge_signify;  /* judge_edsig.c: F<suffix> in signify's format */

/* The table, in the order detect() is asked; ends with NULL. */
extern const sgs_judge *const sgs_judges[];

/* judge_raw.c: a raw signature's answer as the raw judge stored it (persistent cache) into
   the record; returns the verdict it stands for. */
sgs_verdict sgs_judge_raw_stored(worker *w, sgs_record *rec, const sgs_pcache_verdict *pv,
                                 const char *sig_path);

/* job.c: reads F's signature file (the first of sgs_job_signature_files that exists) into
   w->sig and names it in `in`. 0: it exists but could not be read (rec's verdict is set). */
int sgs_job_find_signature(const job *j, worker *w, sgs_record *rec, sgs_judge_input *in);

/* The judge that takes the job (the table's last entries accept any job). */
const sgs_judge *sgs_judge_for(const sgs_engine *e, const worker *w, const sgs_judge_input *in);

/* Whether any judge reading signature file `sig_file` keys its judgement on `cache`. */
int sgs_judge_caches(unsigned sig_file, sgs_judge_cache cache);

#endif
