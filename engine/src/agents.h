/* agents.h - agents' copies of the server key: classify each distinct file content once. */
#ifndef SGS_AGENTS_H
#define SGS_AGENTS_H

#include "sigsweep.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Largest key file read; larger ones are MALFORMED without being read. */
#define SGS_AGENT_FILE_MAX (1024u * 1024u)

typedef struct sgs_agents sgs_agents;

/* Result for one key-file content. */
typedef struct sgs_agent_result {
    sgs_verdict verdict;
    char reason[768];
    char key_fp[SGS_FP_HEX_LEN]; /* "" when the file holds no usable public key */
    char alg[48];
} sgs_agent_result;

sgs_agents *sgs_agents_create(const sgs_allocator *a);
void sgs_agents_free(sgs_agents *g);

/* Setup (controlling thread, before judging). Statuses as keys.h; err says why. */
SGS_NODISCARD sgs_status sgs_agents_set_server(sgs_agents *g, const char *path, char *err,
                                               size_t errlen);
SGS_NODISCARD sgs_status sgs_agents_add_known(sgs_agents *g, const char *path, char *err,
                                              size_t errlen);
SGS_NODISCARD sgs_status sgs_agents_set_command(sgs_agents *g, const char *message,
                                                const char *signature, const EVP_MD *md, int pss,
                                                char *err, size_t errlen);
/* Validity checks of certificate copies happen at this time (seconds since the epoch). */
void sgs_agents_set_time(sgs_agents *g, int64_t at);
int sgs_agents_ready(const sgs_agents *g);
/* The SPKI fingerprints of the server key (first, when set) and the known keys: up to max
   pointers into g, valid while g lives. Returns how many. */
size_t sgs_agents_key_fps(const sgs_agents *g, const uint8_t **fps, size_t max);

/*
 * Judges a key file's content (buf, len). Identical contents are judged once per run (a
 * SHA-256-keyed cache): a fleet holds few distinct key files. THREAD SAFETY: any thread.
 */
void sgs_agents_judge(sgs_agents *g, const uint8_t *buf, size_t len, sgs_agent_result *out);

#endif
