/* log.h - the runner's own leveled log, to stderr, as text or JSON lines.
 *
 * Text:  "tfgate: warn: message"   (the "tfgate: " prefix, level for warn+)
 * JSON:  {"time":"2026-11-25T07:00:00.123Z","level":"warn","msg":"...",
 *         "exec_id":"..."}   every field escaped by jansson.
 * An execution id set with log_set_exec_id() is added to every line, so all
 * lines of one job can be found together.  Not for job output: that goes
 * through the redactor's sinks. */
#ifndef TFGATE_LOG_H
#define TFGATE_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum log_level { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
enum log_format { LOGF_TEXT = 0, LOGF_JSON };

void log_setup(enum log_level level, enum log_format format);
enum log_level log_get_level(void);
enum log_format log_get_format(void);
/* where lines go (default stderr); for tests */
void log_set_stream(FILE *f);
/* NULL clears; copied.  On a thread that called log_thread_own_exec_id()
 * this sets that thread's id only. */
void log_set_exec_id(const char *id);
/* Give the calling thread its own execution id (NULL = none): its lines
 * carry only that id, and log_set_exec_id() on it no longer touches the
 * process-wide one.  For a daemon running several jobs in threads. */
void log_thread_own_exec_id(const char *id);

int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
