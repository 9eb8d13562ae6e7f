/* The message catalogue's cost per request (docs/PERFORMANCE.md "Message catalogue"): ns per
 * Accept-Language parse plus a title lookup, and ns per error body with code and message (as
 * http.c builds it: once in Chinese, again for an English caller), beside the old
 * {"error"}-only body built the same way (cJSON) in the same run; and ns per finding detail
 * rendered from its catalogue template (English, Chinese) beside the printf it replaced; and
 * an ingest finding's detail as ingest now makes it (English text plus the arguments as JSON)
 * and as a reader renders it in Chinese (parse the stored arguments, render), beside the printf
 * ingest used before. Prints figures; never fails on time. Run: build/release/tests/bench_i18n */
#include "engine/engine.h"
#include "http/http.h"
#include "i18n.h"
#include "jsonin.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 200000 };

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char *json_arg(const char *name, void *ctx)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *bench_arg(const char *name, void *ctx)
{
    (void)ctx;
    static const char *const args[][2] = {{"event", "@signin"},
                                          {"time", "2026-11-02 09:00:00"},
                                          {"device", "K-1"},
                                          {"why", "@why_outside"},
                                          {"counted", "@not_counted"}};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        if (strcmp(args[i][0], name) == 0)
            return args[i][1];
    return NULL;
}

int main(void)
{
    static const char *const headers[] = {NULL, "zh-CN,zh;q=0.9,en;q=0.8", "en-US,en;q=0.9",
                                          "fr, en;q=0.5"};
    volatile size_t sink = 0;
    double t0 = now_ns();
    for (int i = 0; i < N; i++) {
        enum i18n_lang l = i18n_from_accept_language(headers[i & 3]);
        const char *t = i18n_text2(
            "finding", engine_finding_name((enum engine_finding_kind)(i % ENGINE_F_KIND_COUNT)), l);
        sink += t ? (size_t)t[0] : 0;
    }
    double lookup = (now_ns() - t0) / N;

    t0 = now_ns();
    for (int i = 0; i < N; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", "outside this token's scope: class C-B");
        char *b = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        sink += b ? (size_t)b[0] : 0;
        free(b);
    }
    double base = (now_ns() - t0) / N;

    t0 = now_ns();
    for (int i = 0; i < N; i++) {
        struct http_response res = {0};
        http_reply_coded(&res, 403, HTTP_E_OUT_OF_SCOPE, "outside this token's scope: %s",
                         "class C-B");
        sink += res.body ? (size_t)res.body[0] : 0;
        free(res.body);
    }
    double zh = (now_ns() - t0) / N;

    /* A finding's detail: the old printf of the English text (baseline) beside the template
     * rendered from the catalogue with its arguments, in English and in Chinese. */
    char text[600];
    t0 = now_ns();
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof text, "%s at %s on %s: %s; %s", "sign-in", "2026-11-02 09:00:00",
                 "K-1", "outside the venue fence", i & 1 ? "counted" : "not counted");
        sink += (size_t)text[0];
    }
    double printf_detail = (now_ns() - t0) / N;
    double render[2];
    for (int l = 0; l < 2; l++) {
        t0 = now_ns();
        for (int i = 0; i < N; i++) {
            if (i18n_render("sign_judged", (enum i18n_lang)l, bench_arg, NULL, text, sizeof text))
                return 1;
            sink += (size_t)text[0];
        }
        render[l] = (now_ns() - t0) / N;
    }

    /* An ingest finding (no_photo): the old printf (baseline); what ingest's detail_set does
     * now (render the English, print the arguments as a JSON object); what a Chinese reader
     * costs per stored finding (parse the arguments under jsonin's lock, render). */
    const char *pairs[] = {"event", "@event_signin", "trainee", "1201**********1234",
                           "class", "C-A",           "why",     "@no_photo_refused",
                           NULL};
    char args[1100];
    t0 = now_ns();
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof text, "%s of %s for class %s has no photo (%s)", "signin",
                 "1201**********1234", "C-A", "refused");
        sink += (size_t)text[0];
    }
    double ingest_printf = (now_ns() - t0) / N;
    t0 = now_ns();
    for (int i = 0; i < N; i++) {
        if (i18n_render_pairs("no_photo", I18N_EN, pairs, text, sizeof text))
            return 1;
        cJSON *o = cJSON_CreateObject();
        for (size_t k = 0; pairs[k]; k += 2)
            cJSON_AddStringToObject(o, pairs[k], pairs[k + 1]);
        if (!cJSON_PrintPreallocated(o, args, (int)sizeof args, 0))
            return 1;
        cJSON_Delete(o);
        sink += (size_t)text[0] + (size_t)args[0];
    }
    double ingest_store = (now_ns() - t0) / N;
    t0 = now_ns();
    for (int i = 0; i < N; i++) {
        cJSON *o = NULL;
        char err[256];
        if (jsonin_parse(args, strlen(args), &o, err) != 0 ||
            i18n_render("no_photo", I18N_ZH, json_arg, o, text, sizeof text))
            return 1;
        cJSON_Delete(o);
        sink += (size_t)text[0];
    }
    double ingest_read = (now_ns() - t0) / N;

    printf("Accept-Language + title lookup     %7.1f ns/request\n", lookup);
    printf("detail by printf (old, baseline)    %7.1f ns\n", printf_detail);
    printf("detail from the template, English   %7.1f ns  (%.2fx the baseline)\n", render[1],
           render[1] / printf_detail);
    printf("detail from the template, Chinese   %7.1f ns  (%.2fx the baseline)\n", render[0],
           render[0] / printf_detail);
    printf("ingest detail by printf (old, baseline) %7.1f ns\n", ingest_printf);
    printf("ingest detail + JSON args (stored)  %7.1f ns  (%.2fx the baseline)\n", ingest_store,
           ingest_store / ingest_printf);
    printf("stored detail read in Chinese       %7.1f ns  (%.2fx the baseline)\n", ingest_read,
           ingest_read / ingest_printf);
    printf("error body {error} (old, baseline)  %7.1f ns\n", base);
    printf("error body {error, code, message}   %7.1f ns  (%.2fx the baseline)\n", zh, zh / base);
    return sink == 0 ? 1 : 0;
}
