/*
 * audit/migrations.h — the schema migrations compiled into the program
 * (generated from audit/migrations/NNN_name.sql). Not public.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MMDX_AUDIT_MIGRATIONS_H
#define MMDX_AUDIT_MIGRATIONS_H

#include <stddef.h>

typedef struct mmdx_migration {
    int version;      /* from the file name, 1, 2, ... without gaps */
    const char *name; /* file name without .sql */
    const char *sql;  /* NUL-terminated script */
    size_t len;       /* bytes, without the NUL */
} mmdx_migration;

extern const mmdx_migration mmdx_audit__migrations[];
extern const size_t mmdx_audit__n_migrations;

#endif
