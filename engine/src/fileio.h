/* fileio.h - the one way sigsweep writes a file (never through a link, never over a device)
   and opens an input it is given (never blocking on a FIFO, regular files only). The
   functions are public (sigsweep.h, "Files"): the CLI writes its report through them too. */
#ifndef SGS_FILEIO_H
#define SGS_FILEIO_H

#include "sigsweep.h"

#endif
