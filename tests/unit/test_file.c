/* core/file: bounded whole-file reads refuse what is not a regular file (a directory, a FIFO
 * that would block, /dev/zero that never ends) and what is over the cap, each with one clear
 * line, and read exactly what is there otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "file.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_file.XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Expects a refusal with exactly this rc and message; the output stays untouched. */
static void refused(const char *path, size_t max, int want_rc, const char *want_err)
{
    char err[ERR_LEN] = "";
    char *buf = (char *)(uintptr_t)1;
    size_t len = 7;
    assert_int_equal(file_read_bounded(path, max, &buf, &len, err), want_rc);
    assert_string_equal(err, want_err);
    assert_ptr_equal(buf, (char *)(uintptr_t)1);
    assert_int_equal(len, 7);
}

static void reads_a_regular_file_whole(void **state)
{
    (void)state;
    char path[128], err[ERR_LEN] = "";
    snprintf(path, sizeof path, "%s/a.json", dir);
    write_file(path, "{\"a\":1}\0tail", 12, 0644);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(file_read_bounded(path, 12, &buf, &len, err), RC_OK);
    assert_int_equal(len, 12);
    assert_memory_equal(buf, "{\"a\":1}\0tail", 12);
    assert_int_equal(buf[12], '\0');
    free(buf);
    /* empty file */
    write_file(path, "", 0, 0644);
    assert_int_equal(file_read_bounded(path, 12, &buf, &len, err), RC_OK);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
}

static void over_the_cap_is_refused(void **state)
{
    (void)state;
    char path[128], want[ERR_LEN];
    snprintf(path, sizeof path, "%s/big.json", dir);
    write_file(path, "0123456789", 10, 0644);
    char *buf = NULL;
    size_t len = 0;
    char err[ERR_LEN];
    assert_int_equal(file_read_bounded(path, 10, &buf, &len, err), RC_OK); /* at the cap */
    free(buf);
    snprintf(want, sizeof want, "%s: larger than 9 bytes", path);
    refused(path, 9, RC_LIMIT, want);
}

static void not_regular_files_are_refused(void **state)
{
    (void)state;
    char path[128], want[ERR_LEN];
    snprintf(want, sizeof want, "%s: not a regular file", dir);
    refused(dir, 1 << 20, RC_INVAL, want);
    /* A FIFO with no writer: opening must not block, nor reading. */
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(want, sizeof want, "%s: not a regular file", path);
    refused(path, 1 << 20, RC_INVAL, want);
    /* /dev/zero never ends. */
    refused("/dev/zero", 1 << 20, RC_INVAL, "/dev/zero: not a regular file");
    snprintf(path, sizeof path, "%s/missing", dir);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    refused(path, 1 << 20, RC_NOTFOUND, want);
}

static void private_files_must_be_private(void **state)
{
    (void)state;
    char path[128], want[ERR_LEN], err[ERR_LEN] = "";
    snprintf(path, sizeof path, "%s/key", dir);
    write_file(path, "00ff\n", 5, 0640);
    char *buf = (char *)(uintptr_t)1;
    size_t len = 0;
    assert_int_equal(file_read_private(path, 64, &buf, &len, err), RC_AUTH);
    snprintf(want, sizeof want,
             "%s: accessible by group or others (mode 0640): run chmod 600 on it", path);
    assert_string_equal(err, want);
    assert_ptr_equal(buf, (char *)(uintptr_t)1);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(file_read_private(path, 64, &buf, &len, err), RC_OK);
    assert_string_equal(buf, "00ff\n");
    free(buf);
    assert_int_equal(file_read_private("/dev/zero", 64, &buf, &len, err), RC_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_regular_file_whole),
        cmocka_unit_test(over_the_cap_is_refused),
        cmocka_unit_test(not_regular_files_are_refused),
        cmocka_unit_test(private_files_must_be_private),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
