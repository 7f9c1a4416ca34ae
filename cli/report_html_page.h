/* report_html_page.h - the fleet report's fixed parts: markup, style and script, embedded at
   build time from cli/assets/ (embed.cmake); report_html.c writes the numbers, the chart and the
   data between them. */
#ifndef SGS_CLI_REPORT_HTML_PAGE_H
#define SGS_CLI_REPORT_HTML_PAGE_H

extern const char rh_page_head[];    /* <!DOCTYPE html> ... the heading (style inline) */
extern const char rh_page_filters[]; /* the filter bar: verdict, host, path */
extern const char rh_page_body[];    /* the sections the script fills */
extern const char rh_page_script[];  /* reads #sgs-data, fills and filters the tables */

#endif
