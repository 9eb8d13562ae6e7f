/* evidence/tar: the ustar writer and reader. What the writer makes, GNU tar lists and extracts
 * with the same bytes, and the reader reads back; the reader refuses what is not a plain
 * archive of regular files (bad checksum, other types, names with "..", duplicates, sizes past
 * the end) with one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evidence/tar.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *archive(size_t *len)
{
    struct dynbuf b;
    char err[ERR_LEN];
    dynbuf_init(&b, 1 << 20);
    assert_int_equal(tar_add(&b, "manifest.json", "{\"a\":1}", 7, 1793580912, err), RC_OK);
    assert_int_equal(tar_add(&b, "events/K-1.ndjson", "line\n", 5, 1793580912, err), RC_OK);
    assert_int_equal(tar_add(&b, "empty.json", "", 0, 1793580912, err), RC_OK);
    static char big[1500];
    memset(big, 'x', sizeof big);
    assert_int_equal(tar_add(&b, "big", big, sizeof big, 1793580912, err), RC_OK);
    assert_int_equal(tar_finish(&b, err), RC_OK);
    return dynbuf_take(&b, len);
}

static void round_trip(void **state)
{
    (void)state;
    size_t len;
    char *a = archive(&len);
    assert_int_equal(len % 512, 0);
    /* 4 headers, data blocks 1 + 1 + 0 + 3, two end blocks */
    assert_int_equal(len, (4 + 5 + 2) * 512);
    struct tar_member *m;
    size_t n;
    char err[ERR_LEN];
    assert_int_equal(tar_read(a, len, &m, &n, err), RC_OK);
    assert_int_equal(n, 4);
    assert_string_equal(m[1].name, "events/K-1.ndjson");
    assert_int_equal(m[1].len, 5);
    assert_memory_equal(m[1].data, "line\n", 5);
    assert_int_equal(m[2].len, 0);
    assert_int_equal(m[3].len, 1500);
    assert_non_null(tar_find(m, n, "big"));
    assert_null(tar_find(m, n, "nope"));
    free(m);
    /* The same members give the same bytes. */
    size_t len2;
    char *b = archive(&len2);
    assert_int_equal(len, len2);
    assert_memory_equal(a, b, len);
    free(b);
    free(a);
}

static void gnu_tar_reads_it(void **state)
{
    (void)state;
    size_t len;
    char *a = archive(&len);
    char dir[] = "/tmp/rc-tar-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cmd[512];
    snprintf(path, sizeof path, "%s/a.tar", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(a, 1, len, f), len);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && tar -xf a.tar && cmp -s events/K-1.ndjson - <<'E'\nline\nE",
             dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cd %s && test $(tar -tf a.tar | wc -l) = 4 && rm -rf %s", dir, dir);
    assert_int_equal(system(cmd), 0);
    free(a);
}

static void refusals(void **state)
{
    (void)state;
    size_t len;
    char *a = archive(&len);
    struct tar_member *m;
    size_t n;
    char err[ERR_LEN];
    /* a changed byte in a header: bad checksum */
    a[10] ^= 1;
    assert_int_equal(tar_read(a, len, &m, &n, err), RC_INVAL);
    assert_non_null(strstr(err, "checksum"));
    a[10] ^= 1;
    /* cut short */
    assert_int_equal(tar_read(a, 700, &m, &n, err), RC_INVAL);
    assert_int_equal(tar_read(a, 100, &m, &n, err), RC_INVAL);
    /* the writer refuses bad names */
    struct dynbuf b;
    dynbuf_init(&b, 1 << 16);
    assert_int_equal(tar_add(&b, "../x", "a", 1, 0, err), RC_INVAL);
    assert_int_equal(tar_add(&b, "/etc/x", "a", 1, 0, err), RC_INVAL);
    assert_int_equal(tar_add(&b, "", "a", 1, 0, err), RC_INVAL);
    char longname[120];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(tar_add(&b, longname, "a", 1, 0, err), RC_INVAL);
    /* duplicates and a directory member, made by hand */
    assert_int_equal(tar_add(&b, "x", "a", 1, 0, err), RC_OK);
    assert_int_equal(tar_add(&b, "x", "b", 1, 0, err), RC_OK);
    assert_int_equal(tar_finish(&b, err), RC_OK);
    assert_int_equal(tar_read(b.buf, b.len, &m, &n, err), RC_INVAL);
    assert_non_null(strstr(err, "twice"));
    dynbuf_reset(&b);
    assert_int_equal(tar_add(&b, "d", "", 0, 0, err), RC_OK);
    b.buf[156] = '5'; /* a directory; fix the checksum */
    unsigned sum = 0;
    memset(b.buf + 148, ' ', 8);
    for (size_t i = 0; i < 512; i++)
        sum += (unsigned char)b.buf[i];
    snprintf(b.buf + 148, 8, "%06o", sum);
    assert_int_equal(tar_finish(&b, err), RC_OK);
    assert_int_equal(tar_read(b.buf, b.len, &m, &n, err), RC_INVAL);
    assert_non_null(strstr(err, "regular file"));
    /* a size beyond the archive */
    dynbuf_reset(&b);
    assert_int_equal(tar_add(&b, "s", "abc", 3, 0, err), RC_OK);
    memcpy(b.buf + 124, "00000077777", 11);
    sum = 0;
    memset(b.buf + 148, ' ', 8);
    for (size_t i = 0; i < 512; i++)
        sum += (unsigned char)b.buf[i];
    snprintf(b.buf + 148, 8, "%06o", sum);
    assert_int_equal(tar_finish(&b, err), RC_OK);
    assert_int_equal(tar_read(b.buf, b.len, &m, &n, err), RC_INVAL);
    assert_non_null(strstr(err, "size"));
    dynbuf_free(&b);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(gnu_tar_reads_it),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
