/* SPDX-License-Identifier: Apache-2.0 */
#include "atna.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct atna_map {
    const char *action;  /* exact, or prefix ending in '.' */
    const char *code, *name;
    const char *action_code; /* C R U D E */
    const char *type_code, *type_name;
} atna_map;

/* DCM codes of DICOM PS3.16 CID 400 (audit event ID) and CID 401 (event type). */
static const atna_map maps[] = {
    {"run.start", "110100", "Application Activity", "E", "110120", "Application Start"},
    {"run.end", "110100", "Application Activity", "E", "110121", "Application Stop"},
    {"schema.migrate", "110100", "Application Activity", "E", NULL, NULL},
    {"model.load", "110100", "Application Activity", "E", NULL, NULL},
    {"prediction.", "110110", "Patient Record", "C", NULL, NULL},
    {"results.view", "110110", "Patient Record", "R", NULL, NULL},
    {"results.", "110112", "Query", "E", NULL, NULL},
    {"audit.export", "110106", "Export", "R", NULL, NULL},
    {"audit.log", "110101", "Audit Log Used", "R", NULL, NULL},
    {"audit.", "110101", "Audit Log Used", "E", NULL, NULL},
};

static const atna_map *lookup(const char *action)
{
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        size_t n = strlen(maps[i].action);
        if (maps[i].action[n - 1] == '.' ? strncmp(action, maps[i].action, n) == 0
                                         : strcmp(action, maps[i].action) == 0)
            return &maps[i];
    }
    static const atna_map other = {"", "110100", "Application Activity", "E", NULL, NULL};
    return &other;
}

const char *mmdx_atna_event_code(const char *action)
{
    return lookup(action ? action : "")->code;
}

typedef struct xbuf {
    char *p;
    size_t n, cap;
    int oom;
} xbuf;

static void put(xbuf *b, const char *s, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void puts_(xbuf *b, const char *s) { put(b, s, strlen(s)); }

/* Attribute value: escaped; characters XML 1.0 cannot carry become U+FFFD. */
static void attr(xbuf *b, const char *name, const char *v)
{
    if (!v)
        return;
    puts_(b, " ");
    puts_(b, name);
    puts_(b, "=\"");
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '&': puts_(b, "&amp;"); break;
        case '<': puts_(b, "&lt;"); break;
        case '>': puts_(b, "&gt;"); break;
        case '"': puts_(b, "&quot;"); break;
        case '\'': puts_(b, "&apos;"); break;
        case '\t': puts_(b, "&#9;"); break;
        case '\n': puts_(b, "&#10;"); break;
        case '\r': puts_(b, "&#13;"); break;
        default:
            if (*p < 0x20)
                puts_(b, "\xEF\xBF\xBD");
            else
                put(b, (const char *)p, 1);
        }
    }
    puts_(b, "\"");
}

static void code(xbuf *b, const char *elem, const char *c, const char *system, const char *text)
{
    puts_(b, "<");
    puts_(b, elem);
    attr(b, "csd-code", c);
    attr(b, "codeSystemName", system);
    attr(b, "originalText", text);
    puts_(b, "/>");
}

static void object(xbuf *b, const char *id, const char *type, const char *role, const char *idcode,
                   const char *system, const char *text)
{
    puts_(b, "<ParticipantObjectIdentification");
    attr(b, "ParticipantObjectID", id);
    attr(b, "ParticipantObjectTypeCode", type);
    attr(b, "ParticipantObjectTypeCodeRole", role);
    puts_(b, ">");
    code(b, "ParticipantObjectIDTypeCode", idcode, system, text);
    puts_(b, "</ParticipantObjectIdentification>");
}

int mmdx_atna_format(char **xml, const mmdx_audit_row *row, const char *source_id, const char *site)
{
    *xml = NULL;
    const atna_map *m = lookup(row->action ? row->action : "");
    char outcome[8];
    snprintf(outcome, sizeof outcome, "%d", row->outcome);
    xbuf b = {0};
    puts_(&b, "<AuditMessage><EventIdentification");
    attr(&b, "EventActionCode", m->action_code);
    attr(&b, "EventDateTime", row->time);
    attr(&b, "EventOutcomeIndicator", outcome);
    puts_(&b, ">");
    code(&b, "EventID", m->code, "DCM", m->name);
    if (m->type_code)
        code(&b, "EventTypeCode", m->type_code, "DCM", m->type_name);
    if (row->outcome != 0 && row->detail) {
        /* The detail says why it was not a success. */
        puts_(&b, "<EventOutcomeDescription>");
        for (const char *p = row->detail; *p; p++) {
            switch (*p) {
            case '&': puts_(&b, "&amp;"); break;
            case '<': puts_(&b, "&lt;"); break;
            case '>': puts_(&b, "&gt;"); break;
            default:
                if ((unsigned char)*p < 0x20)
                    puts_(&b, " ");
                else
                    put(&b, p, 1);
            }
        }
        puts_(&b, "</EventOutcomeDescription>");
    }
    puts_(&b, "</EventIdentification><ActiveParticipant");
    attr(&b, "UserID", row->db_role);
    attr(&b, "AlternativeUserID", row->os_user);
    attr(&b, "UserIsRequestor", "true");
    attr(&b, "NetworkAccessPointID", row->host);
    attr(&b, "NetworkAccessPointTypeCode", "1");
    puts_(&b, ">");
    code(&b, "RoleIDCode", "110153", "DCM", "Source Role ID");
    puts_(&b, "</ActiveParticipant><AuditSourceIdentification");
    attr(&b, "AuditEnterpriseSiteID", site);
    attr(&b, "AuditSourceID", source_id);
    puts_(&b, ">");
    code(&b, "AuditSourceTypeCode", "4", "DCM", "Application Server");
    puts_(&b, "</AuditSourceIdentification>");
    if (row->patient)
        object(&b, row->patient, "1", "1", "2", "RFC-3881", "Patient Number");
    if (row->study_uid)
        object(&b, row->study_uid, "2", "3", "110180", "DCM", "Study Instance UID");
    if (row->run_id) {
        char urn[64];
        snprintf(urn, sizeof urn, "urn:uuid:%s", row->run_id);
        object(&b, urn, "2", "3", "12", "RFC-3881", "URI");
    }
    puts_(&b, "</AuditMessage>");
    if (b.oom) {
        free(b.p);
        return mmdx_fail(MMDX_ENOMEM, "export: out of memory");
    }
    *xml = b.p;
    return 0;
}
