/* SPDX-License-Identifier: Apache-2.0 */
/* HTML of the review pages: escaping, the page frame, the style sheet. No scripts anywhere. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "web_internal.h"

void web_html_printf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

const char *web_outcome_name(int o)
{
    switch (o) {
    case 0: return "success";
    case 4: return "minor-failure";
    case 8: return "serious-failure";
    default: return "major-failure";
    }
}

void web_html_csrf(web_req *r)
{
    if (r->session)
        fprintf(r->body, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n", r->session->csrf);
}

void web_page_begin(web_req *r, int status, const char *title)
{
    r->status = status;
    FILE *f = r->body;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    mmdx_html_text(f, title);
    fputs(" - mmdx audit review</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n"
          "<header>\n<a class=\"skip\" href=\"#main\">Skip to the content</a>\n"
          "<p class=\"brand\">mmdx audit review</p>\n",
          f);
    if (r->session) {
        fputs("<nav aria-label=\"Audit pages\">\n<ul>\n<li><a href=\"/\">Search</a></li>\n"
              "<li><a href=\"/integrity\">Integrity</a></li>\n<li><a href=\"/export\">ATNA export</a></li>\n"
              "</ul>\n</nav>\n<form class=\"logout\" method=\"post\" action=\"/logout\">\n",
              f);
        web_html_csrf(r);
        fputs("<button type=\"submit\">Log out</button>\n</form>\n", f);
    }
    fputs("</header>\n<main id=\"main\">\n<h1>", f);
    mmdx_html_text(f, title);
    fputs("</h1>\n", f);
}

void web_page_end(web_req *r)
{
    FILE *f = r->body;
    fputs("</main>\n<footer>\n", f);
    if (r->session) {
        fputs("<p>Logged in as database role <strong>", f);
        mmdx_html_text(f, mmdx_store_role(r->session->store));
        fputs("</strong>. Every page you open is recorded in the audit log.</p>\n", f);
    } else {
        fputs("<p>Log in with your own database role. Every page is recorded in the audit log.</p>\n", f);
    }
    fputs("</footer>\n</body>\n</html>\n", f);
}

void web_page_error(web_req *r, int status, const char *title, const char *message)
{
    web_page_begin(r, status, title);
    fputs("<p class=\"problem\" role=\"alert\">", r->body);
    mmdx_html_text(r->body, message);
    fputs("</p>\n", r->body);
    web_page_end(r);
}

const char *web_style_css(void)
{
    return "html{font-family:system-ui,sans-serif;line-height:1.45;color:#1b1b1b;background:#fff}\n"
           "body{margin:0}\n"
           "header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.5rem 1.5rem;"
           "background:#0b3d5c;color:#fff}\n"
           "header a{color:#fff}\n"
           ".brand{font-weight:700;margin:0}\n"
           "nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}\n"
           ".logout{margin-left:auto}\n"
           ".skip{position:absolute;left:-999px}\n.skip:focus{left:1rem;top:1rem;background:#000;padding:.3rem}\n"
           "main{padding:1rem 1.5rem;max-width:80rem}\n"
           "footer{padding:1rem 1.5rem;border-top:1px solid #ccc;color:#444;font-size:.9rem}\n"
           "table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}\n"
           "caption{text-align:left;font-weight:600;padding:.3rem 0}\n"
           "th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}\n"
           "th{background:#eef3f6}\n"
           "code,.hash{font-family:ui-monospace,monospace;font-size:.88rem}\n.hash{word-break:break-all}\n"
           "td.when{white-space:nowrap}\ntd.detail{max-width:30rem;overflow-wrap:anywhere}\n"
           ".ok{color:#0a6b2d;font-weight:700}\n.bad,.problem{color:#a30000;font-weight:700}\n"
           ".outcome-minor-failure{color:#8a5a00}\n.outcome-serious-failure,.outcome-major-failure{color:#a30000}\n"
           "form.search{margin:1rem 0;padding:1rem;border:1px solid #ccc;max-width:36rem}\n"
           "label{display:block;font-weight:600;margin:.4rem 0 .2rem}\n"
           "input[type=text],input[type=password],input[type=number],input[type=date]{padding:.3rem;"
           "font-size:1rem;width:20rem;max-width:100%}\n"
           "button{margin-top:.6rem;padding:.35rem 1rem;font-size:1rem}\n.logout button{margin-top:0}\n"
           ":focus-visible{outline:3px solid #f0a500;outline-offset:2px}\n"
           "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\n"
           "dt{font-weight:600}\ndd{margin:0}\n";
}
