/* photo: the kiosk's content-addressed photo files. A stored JPEG is named by its SHA-256,
 * 0600, in a 0700 directory; the same bytes again keep the file; a file whose bytes were
 * changed, a missing one, a bad name and non-JPEG input are each refused with their own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "photo.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rc-photo-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 'p', 'h', 'o', 't', 'o', 0xff, 0xd9};

static void stored_by_hash(void **state)
{
    (void)state;
    char hex[CRYPTO_SHA256_HEX_LEN + 1], want[CRYPTO_SHA256_HEX_LEN + 1], err[ERR_LEN];
    char path[PHOTO_PATH_MAX];
    assert_int_equal(photo_store(dir, jpeg, sizeof jpeg, hex, err), RC_OK);
    crypto_sha256_hex(jpeg, sizeof jpeg, want);
    assert_string_equal(hex, want);
    assert_int_equal(photo_path(dir, hex, path, sizeof path, err), RC_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, (off_t)sizeof jpeg);
    char d[96];
    snprintf(d, sizeof d, "%s/photos", dir);
    assert_int_equal(stat(d, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(photo_check(dir, hex, err), RC_OK);
    /* again: the same file */
    assert_int_equal(photo_store(dir, jpeg, sizeof jpeg, hex, err), RC_OK);
    assert_string_equal(hex, want);
}

static void changed_missing_and_bad(void **state)
{
    (void)state;
    char hex[CRYPTO_SHA256_HEX_LEN + 1], err[ERR_LEN], path[PHOTO_PATH_MAX];
    assert_int_equal(photo_store(dir, jpeg, sizeof jpeg, hex, err), RC_OK);
    assert_int_equal(photo_path(dir, hex, path, sizeof path, err), RC_OK);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 5, SEEK_SET);
    fputc('X', f);
    fclose(f);
    assert_int_equal(photo_check(dir, hex, err), RC_CONFLICT);
    /* storing the real bytes again repairs it */
    assert_int_equal(photo_store(dir, jpeg, sizeof jpeg, hex, err), RC_OK);
    assert_int_equal(photo_check(dir, hex, err), RC_OK);
    assert_int_equal(
        photo_check(dir, "0000000000000000000000000000000000000000000000000000000000000000", err),
        RC_NOTFOUND);
    assert_int_equal(photo_check(dir, "../../etc/passwd", err), RC_INVAL);
    assert_int_equal(
        photo_check(dir, "ABCDEF0000000000000000000000000000000000000000000000000000000000", err),
        RC_INVAL);
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, 0};
    assert_int_equal(photo_store(dir, png, sizeof png, hex, err), RC_INVAL);
    assert_int_equal(photo_store(dir, jpeg, 2, hex, err), RC_INVAL);
    unsigned char *big = calloc(1, (size_t)PHOTO_MAX_BYTES + 1);
    assert_non_null(big);
    memcpy(big, jpeg, 4);
    assert_int_equal(photo_store(dir, big, (size_t)PHOTO_MAX_BYTES + 1, hex, err), RC_LIMIT);
    free(big);
    assert_true(photo_reason_ok("no_camera") && photo_reason_ok("refused") &&
                photo_reason_ok("failed"));
    assert_false(photo_reason_ok("") || photo_reason_ok("camera") || photo_reason_ok(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stored_by_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(changed_missing_and_bad, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
