/* GnuTLS credentials behind a lock; see tlscert.h for the invariants. */
#include "http/tlscert.h"

#include "rc.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tlscert {
    gnutls_pcert_st pcert[TLSCERT_CHAIN_MAX];
    unsigned npcert;
    gnutls_privkey_t key;
    int64_t not_after;
    struct tlscert *older; /* the pair this one replaced, kept until tlscert_fini */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tlscert *current;
static unsigned generations;

void tlscert_free(tlscert *c)
{
    while (c) {
        struct tlscert *older = c->older;
        for (unsigned i = 0; i < c->npcert; i++)
            gnutls_pcert_deinit(&c->pcert[i]);
        if (c->key)
            gnutls_privkey_deinit(c->key);
        free(c);
        c = older;
    }
}

/* Whether the private key's public half is the certificate's public key. */
static int key_matches(const struct tlscert *c, char *err)
{
    gnutls_pubkey_t pub = NULL;
    unsigned char a[64], b[64];
    size_t alen = sizeof a, blen = sizeof b;
    int rc = RC_INVAL;
    if (gnutls_pubkey_init(&pub) < 0)
        return rc_fail(err, RC_NOMEM, "out of memory");
    if (gnutls_pubkey_import_privkey(pub, c->key, 0, 0) < 0 ||
        gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) < 0 ||
        gnutls_pubkey_get_key_id(c->pcert[0].pubkey, GNUTLS_KEYID_USE_SHA256, b, &blen) < 0) {
        rc_fail(err, RC_INVAL, "cannot read the public key of the certificate or the key");
        goto out;
    }
    if (alen != blen || memcmp(a, b, alen) != 0) {
        rc_fail(err, RC_INVAL, "the private key does not belong to the certificate");
        goto out;
    }
    rc = RC_OK;
out:
    gnutls_pubkey_deinit(pub);
    return rc;
}

int tlscert_parse(const char *cert_pem, const char *key_pem, tlscert **out, char *err)
{
    int rc = RC_INVAL;
    *out = NULL;
    struct tlscert *c = calloc(1, sizeof *c);
    gnutls_x509_crt_t crt = NULL;
    if (!c)
        return rc_fail(err, RC_NOMEM, "out of memory");
    gnutls_datum_t cd = {(unsigned char *)(uintptr_t)cert_pem, (unsigned)strlen(cert_pem)};
    unsigned n = TLSCERT_CHAIN_MAX;
    int g = gnutls_pcert_list_import_x509_raw(c->pcert, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (g < 0 || n == 0) {
        rc_fail(err, RC_INVAL, "certificate: %s",
                g == GNUTLS_E_SHORT_MEMORY_BUFFER ? "more than 16 certificates in the chain"
                : g < 0                           ? gnutls_strerror(g)
                                                  : "no certificate");
        goto out;
    }
    c->npcert = n;
    gnutls_datum_t kd = {(unsigned char *)(uintptr_t)key_pem, (unsigned)strlen(key_pem)};
    if (gnutls_privkey_init(&c->key) < 0) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    g = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
        rc_fail(err, RC_INVAL, "key: %s", gnutls_strerror(g));
        goto out;
    }
    rc = key_matches(c, err);
    if (rc != RC_OK)
        goto out;
    rc = RC_INVAL;
    if (gnutls_x509_crt_init(&crt) < 0 ||
        gnutls_x509_crt_import(crt, &c->pcert[0].cert, GNUTLS_X509_FMT_DER) < 0) {
        rc_fail(err, RC_INVAL, "certificate: cannot read its validity");
        goto out;
    }
    c->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    rc = RC_OK;
    *out = c;
    c = NULL;
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    tlscert_free(c);
    return rc;
}

int64_t tlscert_not_after(const tlscert *c)
{
    return c->not_after;
}

int tlscert_install(tlscert *c, char *err)
{
    pthread_mutex_lock(&lock);
    if (generations >= TLSCERT_GENERATIONS_MAX) {
        pthread_mutex_unlock(&lock);
        tlscert_free(c);
        return rc_fail(err, RC_LIMIT, "%d certificate reloads: restart the server",
                       TLSCERT_GENERATIONS_MAX);
    }
    c->older = current;
    current = c;
    generations++;
    pthread_mutex_unlock(&lock);
    return RC_OK;
}

int64_t tlscert_current_not_after(void)
{
    pthread_mutex_lock(&lock);
    int64_t t = current ? current->not_after : 0;
    pthread_mutex_unlock(&lock);
    return t;
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&lock);
    struct tlscert *c = current;
    pthread_mutex_unlock(&lock);
    if (!c)
        return -1;
    *pcert = c->pcert;
    *pcert_length = c->npcert;
    *pkey = c->key;
    return 0;
}

void *tlscert_callback(void)
{
    gnutls_certificate_retrieve_function2 *f = retrieve;
    return (void *)(uintptr_t)f;
}

void tlscert_fini(void)
{
    pthread_mutex_lock(&lock);
    struct tlscert *c = current;
    current = NULL;
    generations = 0;
    pthread_mutex_unlock(&lock);
    tlscert_free(c);
}
