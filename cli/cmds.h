/* cmds.h - the commands main.c dispatches to, each defined in its cmd_*.c. */
#ifndef SGS_CLI_CMDS_H
#define SGS_CLI_CMDS_H

#include "opts.h"

extern const cli_command cli_cmd_verify;           /* cmd_verify.c */
extern const cli_command cli_cmd_guard;            /* cmd_guard.c */
extern const cli_command cli_cmd_sign;             /* cmd_sign.c; also `package sign` */
extern const cli_command cli_cmd_agents;           /* cmd_agents.c */
extern const cli_command cli_cmd_keygen;           /* cmd_keygen.c */
extern const cli_command cli_cmd_export_agent_key; /* cmd_keygen.c */
extern const cli_command cli_cmd_package;          /* cmd_package.c: create, sign, verify */
extern const cli_command cli_cmd_cache;            /* cmd_cache.c */
extern const cli_command cli_cmd_restore;          /* cmd_restore.c */
extern const cli_command cli_cmd_trust;            /* cmd_trust.c: list, add, diagnose */
extern const cli_command cli_cmd_kernel_keys;      /* cmd_kernel_keys.c */
extern const cli_command cli_cmd_report;           /* cmd_report.c: merge, summary, html */
extern const cli_command cli_report_html;          /* cmd_report_html.c: `report html` */

#endif
