/* The figures cache warmer of `serve`: a low-priority thread on its own connection that, every
 * interval, recomputes the classes whose cached figures went stale (figures_warm), so that the
 * overview right after an upload finds them fresh, and records their serious findings for the
 * alert outbox (store_engine_alerts_record) even when nobody reads the class.
 *
 * Invariants:
 * - Correctness never depends on the warmer: a reader that finds a stale class computes it
 *   itself; the warmer only makes that rare. Its cache writes are generation-checked
 *   (store_figures_put), so figures computed from inputs that changed meanwhile are never
 *   served, whichever collector wrote them.
 * - Debounced: a class is recomputed at most once per interval, however many batches touch it.
 * - Bounded: at most WARM_PASS_MAX classes per pass; stop is looked at between classes, so
 *   warm_stop waits for one class's computation at most. */
#ifndef ROLLCALL_SERVER_WARM_H
#define ROLLCALL_SERVER_WARM_H

typedef struct warm warm;

enum {
    WARM_DEFAULT_INTERVAL_MS = 1000, /* how often the warmer looks for stale classes */
    WARM_INTERVAL_MAX_MS = 3600000,
    WARM_PASS_MAX = 256, /* classes recomputed in one pass before looking again */
    WARM_NICE = 10,      /* the thread's nice value: the request threads come first */
};

/* Starts the warmer on its own connection to db_url, looking every interval_ms. Returns 0 and
 * *out, or RC_NOMEM / RC_STATE. */
int warm_start(const char *db_url, unsigned interval_ms, warm **out, char *err);
/* Stops the thread (a class being computed finishes first) and frees w. NULL: no-op. */
void warm_stop(warm *w);

#endif
