/* The collector's TLS certificate and key, held so they can be replaced while serving
 * (`systemctl reload`): each TLS handshake asks for the current pair through GnuTLS's
 * certificate callback, so a reload changes what new handshakes see and leaves every
 * established connection alone.
 *
 * Invariants:
 * - A pair is only installed after it parsed and the key matched the certificate's public key;
 *   a refused pair leaves the current one serving.
 * - A pair once installed is never freed while serving (a connection's session refers to it
 *   until it closes); replaced pairs are kept until tlscert_fini, at most TLSCERT_GENERATIONS_MAX
 *   of them (a reload past that is refused: restart to reclaim). */
#ifndef ROLLCALL_SERVER_TLSCERT_H
#define ROLLCALL_SERVER_TLSCERT_H

#include <stdint.h>

enum {
    TLSCERT_CHAIN_MAX = 16,         /* certificates in one chain file */
    TLSCERT_GENERATIONS_MAX = 1000, /* reloads in one process lifetime */
};

typedef struct tlscert tlscert;

/* Parses a PEM certificate chain and an unencrypted PEM private key and checks that the key
 * belongs to the first certificate. Returns 0 and *out (free with tlscert_free), RC_INVAL with
 * one line in err for a bad or mismatched pair, RC_NOMEM. */
int tlscert_parse(const char *cert_pem, const char *key_pem, tlscert **out, char *err);
/* The first certificate's notAfter, seconds since the epoch. */
int64_t tlscert_not_after(const tlscert *c);
void tlscert_free(tlscert *c);

/* Makes c the pair every later handshake is given (takes ownership). RC_LIMIT (c freed) past
 * TLSCERT_GENERATIONS_MAX. Thread-safe against handshakes in progress. */
int tlscert_install(tlscert *c, char *err);
/* The installed certificate's notAfter, 0 when none is installed. Thread-safe. */
int64_t tlscert_current_not_after(void);
/* The GnuTLS retrieve callback (gnutls_certificate_retrieve_function2) for MHD's
 * MHD_OPTION_HTTPS_CERT_CALLBACK, returned as a generic pointer to keep GnuTLS types out of
 * this header. */
void *tlscert_callback(void);
/* Frees the installed pair and every replaced one: after the HTTP server stopped. */
void tlscert_fini(void);

#endif
