/* console: the console's static files. A folder without index.html is refused; index.html and
 * the regular files of assets/ with a known type are served, nothing else; the --tiles template
 * is checked (http(s), a host, {z} {x} {y}, no quotes or separators) and its origin joins
 * img-src while the page gets the template (& escaped); cache headers and the CSP go on every
 * answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/console.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rc-console-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/assets", dir);
    if (mkdir(sub, 0700) != 0)
        return -1;
    snprintf(sub, sizeof sub, "%s/assets/folder.js", dir);
    if (mkdir(sub, 0700) != 0)
        return -1;
    put("index.html", "<meta name=\"rollcall-tiles\" content=\"\"><p>page</p>");
    put("assets/app-ABC.js", "console.log(1)");
    put("assets/app-ABC.css", "p{}");
    put("assets/notes.txt", "not served");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    console_fini();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static bool get(const char *path, struct http_response *res)
{
    struct http_request req = {.method = "GET", .path = path};
    memset(res, 0, sizeof *res);
    return console_serve(&req, res);
}

static void serves_index_and_assets(void **state)
{
    (void)state;
    char err[ERR_LEN];
    const char *where = NULL;
    assert_int_equal(console_init(dir, NULL, &where, err), RC_OK);
    assert_string_equal(where, dir);
    struct http_response res;
    assert_true(get("/", &res));
    assert_int_equal(res.status, 200);
    assert_string_equal(res.cache_control, "no-cache");
    assert_non_null(res.etag);
    assert_string_equal(res.content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(res.csp, "default-src 'self'"));
    assert_non_null(strstr(res.csp, "img-src 'self';"));
    assert_null(strstr(res.csp, "unsafe-inline"));
    const char *head = "<meta name=\"rollcall-tiles\" content=\"\">";
    assert_memory_equal(res.body, head, strlen(head));
    free(res.body);
    assert_true(get("/index.html", &res));
    free(res.body);
    assert_true(get("/assets/app-ABC.js", &res));
    assert_int_equal(res.status, 200);
    assert_int_equal(res.len, strlen("console.log(1)"));
    assert_string_equal(res.cache_control, "public, max-age=31536000, immutable");
    assert_string_equal(res.content_type, "text/javascript; charset=utf-8");
    free(res.body);
    assert_true(get("/assets/app-ABC.css", &res));
    assert_string_equal(res.content_type, "text/css; charset=utf-8");
    free(res.body);
    /* not served: another type, a folder, a path outside, a file that is not there */
    assert_false(get("/assets/notes.txt", &res));
    assert_false(get("/assets/folder.js", &res));
    assert_false(get("/assets/../index.html", &res));
    assert_false(get("/app-ABC.js", &res));
    assert_false(get("/assets/", &res));
}

static void tiles_checked(void **state)
{
    (void)state;
    char err[ERR_LEN];
    const char *where = NULL;
    static const char *bad[] = {
        "ftp://tiles.example/{z}/{x}/{y}.png",
        "https:///{z}/{x}/{y}.png",
        "https://tiles.example/{z}/{x}.png",
        "https://tiles.example/{z}/{x}/{y}.png\" onload=\"x",
        "https://tiles.example/{z}/{x}/{y}.png; script-src *",
        "https://{s}.tiles.example/{z}/{x}/{y}.png",
        "https://tiles.example/{z}/{x}/{y} .png",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(console_init(dir, bad[i], &where, err), RC_INVAL);
        assert_non_null(strstr(err, "--tiles"));
    }
    assert_int_equal(
        console_init(dir, "https://t.bureau.example:8080/{z}/{x}/{y}.png?a=1&b=2", &where, err),
        RC_OK);
    assert_non_null(strstr(console_csp(), "img-src 'self' https://t.bureau.example:8080;"));
    struct http_response res;
    assert_true(get("/", &res));
    const char *want = "content=\"https://t.bureau.example:8080/{z}/{x}/{y}.png?a=1&amp;b=2\"";
    /* the body is the page's bytes, not a string: res.len of them */
    assert_non_null(memmem(res.body, res.len, want, strlen(want)));
    assert_string_equal(res.csp, console_csp());
    free(res.body);
}

static void missing_index_refused(void **state)
{
    (void)state;
    char err[ERR_LEN];
    const char *where = NULL;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/assets", dir);
    assert_int_equal(console_init(sub, NULL, &where, err), RC_NOTFOUND);
    assert_non_null(strstr(err, "no index.html"));
    struct http_response res;
    assert_false(get("/", &res)); /* nothing left loaded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_index_and_assets),
        cmocka_unit_test(tiles_checked),
        cmocka_unit_test(missing_index_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
