/* The message catalogue's cost per request (docs/PERFORMANCE.md "Message catalogue"): ns per
 * Accept-Language parse plus a title lookup, and ns per error body with code and message (as
 * http.c builds it: once in Chinese, again for an English caller), beside the old
 * {"error"}-only body built the same way (cJSON) in the same run. Prints figures; never fails
 * on time. Run: build/release/tests/bench_i18n */
#include "engine/engine.h"
#include "http/http.h"
#include "i18n.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 200000 };

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
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

    printf("Accept-Language + title lookup     %7.1f ns/request\n", lookup);
    printf("error body {error} (old, baseline)  %7.1f ns\n", base);
    printf("error body {error, code, message}   %7.1f ns  (%.2fx the baseline)\n", zh, zh / base);
    return sink == 0 ? 1 : 0;
}
