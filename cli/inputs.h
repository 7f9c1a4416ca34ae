/* inputs.h - the paths a sweep hands the engine (operands, then --files-from lines): a
   signature given for the file beside it is judged as that file, once, and said so. */
#ifndef SGS_CLI_INPUTS_H
#define SGS_CLI_INPUTS_H

#include "sigsweep.h"

typedef struct inputs inputs;

/* Paths for engine e. sig_suffix and p7s: which names are signatures (as the engine reads
   them, sgs_signature_subject); verb: what is done to a file ("judging", "signing"). NULL when
   out of memory. Free with inputs_free(). */
inputs *inputs_create(const char *cmd, sgs_engine *e, const char *sig_suffix, int p7s,
                      const char *verb);

/* Submits path, or keeps it for inputs_finish() when it is the signature of a file beside it.
   0, or -1 after the diagnostic. */
int inputs_add(inputs *in, const char *path);

/* The signatures given: each file F whose signature was given and that was not given itself
   is submitted once, with "SIG is the signature of F; judging F" on stderr (F given too: F's
   record covers its signature). 0, or -1 after the diagnostic. */
int inputs_finish(inputs *in);

void inputs_free(inputs *in); /* NULL is a no-op */

#endif
