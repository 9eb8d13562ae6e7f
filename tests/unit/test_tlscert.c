/* tlscert: a PEM pair parses and is checked (the key must belong to the certificate), its
 * notAfter is read exactly, refusals are one line and install nothing, and the installed pair
 * is what tlscert_current_not_after reports until tlscert_fini. The PEM texts below were made
 * once with the openssl CLI (a self-signed P-256 certificate valid 2026-01-01 to 2036-01-01
 * 00:00 UTC, its key, and an unrelated key); nothing here uses the code under test to make
 * them. */
#include "http/tlscert.h"
#include "rc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char CERT[] = "-----BEGIN CERTIFICATE-----\n"
                           "MIIBBDCBrAIBATAKBggqhkjOPQQDAjAPMQ0wCwYDVQQDDAR1bml0MB4XDTI2MDEw\n"
                           "MTAwMDAwMFoXDTM2MDEwMTAwMDAwMFowDzENMAsGA1UEAwwEdW5pdDBZMBMGByqG\n"
                           "SM49AgEGCCqGSM49AwEHA0IABD+My3kJ18A36/NJqsUB75vnReIWQ1Lit6m+4JEN\n"
                           "Z//OFKXdCrRL4/RzWP0OzszjSXwO0TGN4cTjUdjRkAbJe3gwCgYIKoZIzj0EAwID\n"
                           "RwAwRAIgHS7WAFDWzHjbsxSuoVgiIwISB+PC3Z9u7HCmkFNygmwCIAMf9x5nU4dQ\n"
                           "04jTG+g+oK8uFUo4IsYJQoWAMoHldGte\n"
                           "-----END CERTIFICATE-----\n";
static const char KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1ooacguPi+HKfIZo\n"
                          "MAhtK6hHHlTuWby3rUyqiZQLbI6hRANCAAQ/jMt5CdfAN+vzSarFAe+b50XiFkNS\n"
                          "4repvuCRDWf/zhSl3Qq0S+P0c1j9Ds7M40l8DtExjeHE41HY0ZAGyXt4\n"
                          "-----END PRIVATE KEY-----\n";
static const char OTHER_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                                "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtWLemVLzwDMxsk59\n"
                                "8c+D8nNNI/69V/ky4uA45/v7jGShRANCAAQLOmTsc6gyc806JPDczGORlDV0HsiX\n"
                                "wnsrqIfnSsKqwIsV/qC/EPXQdbijLRsV9hSucMepWThv+oKba6B6C+kK\n"
                                "-----END PRIVATE KEY-----\n";

enum { NOT_AFTER = 2082758400 }; /* 2036-01-01T00:00:00Z */

static void pair_parses_with_its_expiry(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    tlscert *c = NULL;
    assert_int_equal(tlscert_parse(CERT, KEY, &c, err), RC_OK);
    assert_non_null(c);
    assert_int_equal(tlscert_not_after(c), NOT_AFTER);
    tlscert_free(c);
}

static void foreign_key_is_refused(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    tlscert *c = NULL;
    assert_int_equal(tlscert_parse(CERT, OTHER_KEY, &c, err), RC_INVAL);
    assert_null(c);
    assert_string_equal(err, "the private key does not belong to the certificate");
}

static void garbage_is_refused(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    tlscert *c = NULL;
    assert_int_equal(tlscert_parse("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                   KEY, &c, err),
                     RC_INVAL);
    assert_null(c);
    assert_true(strncmp(err, "certificate: ", 13) == 0);
    assert_null(strchr(err, '\n'));
    assert_int_equal(tlscert_parse(CERT,
                                   "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                                   &c, err),
                     RC_INVAL);
    assert_null(c);
    assert_true(strncmp(err, "key: ", 5) == 0);
}

static void installed_pair_is_current_until_fini(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    tlscert *c = NULL;
    assert_int_equal(tlscert_current_not_after(), 0);
    assert_non_null(tlscert_callback());
    assert_int_equal(tlscert_parse(CERT, KEY, &c, err), RC_OK);
    assert_int_equal(tlscert_install(c, err), RC_OK);
    assert_int_equal(tlscert_current_not_after(), NOT_AFTER);
    /* A second install keeps the first alive (connections may still use it) and replaces it. */
    assert_int_equal(tlscert_parse(CERT, KEY, &c, err), RC_OK);
    assert_int_equal(tlscert_install(c, err), RC_OK);
    assert_int_equal(tlscert_current_not_after(), NOT_AFTER);
    tlscert_fini();
    assert_int_equal(tlscert_current_not_after(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pair_parses_with_its_expiry),
        cmocka_unit_test(foreign_key_is_refused),
        cmocka_unit_test(garbage_is_refused),
        cmocka_unit_test(installed_pair_is_current_until_fini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
