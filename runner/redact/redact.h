/* redact.h - the output filter every byte a jailed process prints goes
 * through: normalise (terminal controls, bidi, CR, invalid UTF-8, forge
 * command markers), mask registered secrets and their encoded forms plus
 * well-known credential shapes, then split long lines and apply byte caps.
 *
 * Lifecycle: build a registry before the job starts (add_secret for every
 * value, add_patterns for the built-in credential rules), freeze it, then
 * open one stream per output stream of a step.  The registry is read-only
 * once frozen and may be shared by any number of streams.
 *
 * Masking semantics (docs/redaction.md): every byte covered by any
 * occurrence of any registered form (or the body of a credential shape) is
 * masked; overlapping or touching occurrences are merged and replaced by one
 * "[MASKED]".  The result does not depend on how the input is split into
 * writes: redact_oneshot() is the slow reference the stream must equal. */
#ifndef TFGATE_REDACT_H
#define TFGATE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/util/err.h"

#define REDACT_MASK "[MASKED]"
/* shorter values are refused: they would mask ordinary words */
#define REDACT_MIN_SECRET 8
/* a registered form (after encoding) longer than this is registered as
 * consecutive pieces of this size, so the hold-back stays bounded; an
 * occurrence of the whole form still matches every piece */
#define REDACT_MAX_FORM 4096
/* a PEM private key body is held at most this long waiting for its END line */
#define REDACT_PEM_MAX 16384
/* inserted before a forge command marker in untrusted output */
#define REDACT_INERT "(inert)"
/* a lone carriage return becomes U+240D SYMBOL FOR CARRIAGE RETURN */
#define REDACT_CR_SYMBOL "\xe2\x90\x8d"
/* replaces an invalid UTF-8 subsequence */
#define REDACT_REPLACEMENT "\xef\xbf\xbd"
/* ends the first part of a line split at the per-line cap; the next part
 * starts on a new line with REDACT_LINE_CONT, so no split-off part can
 * begin with a forge marker */
#define REDACT_LINE_CONT "[...] "

struct redact_registry;
struct redact_stream;

/* what add_secret did with a value */
enum redact_add_result {
        REDACT_ADDED = 0,
        REDACT_REFUSED_SHORT = 1,   /* < REDACT_MIN_SECRET bytes: warned, not masked */
};

struct redact_registry *redact_registry_new(void);
void redact_registry_free(struct redact_registry *r);
/* Register value and its derived forms (docs/redaction.md lists them).
 * name identifies the value in warnings; the value itself is never logged.
 * Returns REDACT_ADDED, REDACT_REFUSED_SHORT (after a warning naming
 * `name`), or negative (frozen registry). */
int redact_registry_add_secret(struct redact_registry *r, const char *name,
                               const void *value, size_t len, struct err *err);
/* Register the secrets of a private file (0600, checked): every non-empty
 * line is a secret; a line NAME=VALUE (NAME a shell identifier) registers
 * VALUE under NAME, any other line the whole line, named FILE:LINE. */
int redact_registry_add_file(struct redact_registry *r, const char *path, struct err *err);
/* enable the built-in credential rules (AWS key ids, GitHub and GitLab
 * tokens, PEM private keys): prefix kept, body masked */
int redact_registry_add_patterns(struct redact_registry *r, struct err *err);
/* build the matcher; no more additions afterwards */
int redact_registry_freeze(struct redact_registry *r, struct err *err);
/* number of distinct registered forms (after dedup), for logs and tests */
size_t redact_registry_nforms(const struct redact_registry *r);
/* the longest registered form, i.e. the most a stream holds back */
size_t redact_registry_maxlen(const struct redact_registry *r);

static inline void redact_registry_freep(struct redact_registry **r)
{
        redact_registry_free(*r);
}

/* A byte budget shared by streams: a step's streams share one, all steps of
 * a job share another.  used counts bytes written against it; dropped the
 * bytes that did not fit.  Zero-initialise and set limit (0 = no limit). */
struct redact_budget {
        uint64_t limit;
        uint64_t used;
        uint64_t dropped;
        const char *what;       /* "step", "job": named in the notes */
        bool noted;             /* the cap note has been written */
};

struct redact_opts {
        size_t line_max;                /* 0 = no per-line cap; at least 10 */
        struct redact_budget *caps[2];  /* NULL or budgets, e.g. step and job */
        /* Keep SGR colour sequences (ESC [ digits and ';' m, at most
         * REDACT_SGR_MAX bytes) for a sink that renders colour; every other
         * control sequence is still dropped.  Matching ignores them (a
         * secret broken up by colours is still masked); one inside a masked
         * span is dropped with the span, one at its edge is kept.  They
         * count against the caps but not the line length, and are never
         * cut. */
        bool keep_colour;
};

/* the longest SGR sequence keep_colour keeps; longer ones are dropped */
#define REDACT_SGR_MAX 48

/* Output of a stream: called with filtered bytes; a negative return is
 * passed back by the write/finish call that made it. */
typedef int (*redact_out_fn)(void *arg, const void *buf, size_t len);

/* opts (NULL: no caps) is borrowed and must outlive the stream */
struct redact_stream *redact_stream_new(const struct redact_registry *reg,
                                        const struct redact_opts *opts);
void redact_stream_free(struct redact_stream *s);
/* Filter len bytes.  Output for bytes that can no longer start a match is
 * passed to out before returning; the rest is held back (at most the
 * longest form, or a PEM body) until more input or finish. */
int redact_stream_write(struct redact_stream *s, const void *buf, size_t len,
                        redact_out_fn out, void *arg, struct err *err);
/* End of input: flush everything held back, then the dropped-bytes notes of
 * budgets this stream exhausted.  The stream accepts no more input. */
int redact_stream_finish(struct redact_stream *s, redact_out_fn out, void *arg,
                         struct err *err);
/* bytes received / written to out so far */
uint64_t redact_stream_bytes_in(const struct redact_stream *s);
uint64_t redact_stream_bytes_out(const struct redact_stream *s);
/* bytes of filtered output the caps did not let through */
uint64_t redact_stream_bytes_dropped(const struct redact_stream *s);

static inline void redact_stream_freep(struct redact_stream **s)
{
        redact_stream_free(*s);
}

/* The reference: the whole input at once, by the simplest possible means
 * (quadratic matching over every form).  *out is NUL-terminated and owned
 * by the caller.  opts as for a stream (budgets are updated). */
int redact_oneshot(char **out, size_t *out_len, const struct redact_registry *reg,
                   const struct redact_opts *opts, const void *in, size_t len,
                   struct err *err);

/* Mask only, no normalising and no caps: for tfgate's own trusted lines
 * (step headers, section markers), which may carry control bytes on
 * purpose but must not carry a secret.  *out is NUL-terminated. */
int redact_mask_trusted(char **out, size_t *out_len, const struct redact_registry *reg,
                        const void *in, size_t len, struct err *err);

/* Normalise only (the first stage of a stream) in one call: for tests and
 * for registering forms exactly as they will appear after normalising. */
char *redact_normalise(const void *in, size_t len, size_t *out_len);

#endif
