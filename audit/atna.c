/* SPDX-License-Identifier: Apache-2.0 */
#include "atna.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
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
    {"audit.view", "110101", "Audit Log Used", "R", NULL, NULL},
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
    if (mmdx_array_reserve(&b->p, &b->cap, b->n + len + 1, 1, 1024, 0) < 0) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void puts_(xbuf *b, const char *s) { put(b, s, strlen(s)); }

/*
 * Length of the well-formed UTF-8 sequence at p that XML 1.0 may carry
 * (RFC 3629: shortest form, no surrogates, nothing above U+10FFFF; not
 * U+FFFE/U+FFFF), or 0.
 */
static size_t utf8_char(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!n)
        return 0;
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF) ||
        cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

/*
 * XML text of v: the markup characters escaped (in attributes also quotes and
 * whitespace that attribute normalisation would change); control characters
 * and bytes that are not valid UTF-8 — which the database may hold from a
 * client that sent them — become U+FFFD, so the message is always
 * well-formed UTF-8.
 */
static void text(xbuf *b, const char *v, int in_attribute)
{
    for (const unsigned char *p = (const unsigned char *)v; *p;) {
        const char *esc = NULL;
        switch (*p) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = in_attribute ? "&quot;" : NULL; break;
        case '\'': esc = in_attribute ? "&apos;" : NULL; break;
        case '\t': esc = in_attribute ? "&#9;" : " "; break;
        case '\n': esc = in_attribute ? "&#10;" : " "; break;
        case '\r': esc = in_attribute ? "&#13;" : " "; break;
        default: break;
        }
        if (esc) {
            puts_(b, esc);
            p++;
            continue;
        }
        size_t n = *p < 0x20 ? 0 : utf8_char(p);
        if (n == 0) {
            puts_(b, "\xEF\xBF\xBD");
            p++;
        } else {
            put(b, (const char *)p, n);
            p += n;
        }
    }
}

static void attr(xbuf *b, const char *name, const char *v)
{
    if (!v)
        return;
    puts_(b, " ");
    puts_(b, name);
    puts_(b, "=\"");
    text(b, v, 1);
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
        text(&b, row->detail, 0);
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
