#include "log.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

static enum log_level cur_level = LOGL_INFO;
static enum log_format cur_format = LOGF_TEXT;
static FILE *cur_stream;
static char cur_exec_id[80];
/* a thread that owns its id (log_thread_own_exec_id) ignores cur_exec_id */
static _Thread_local char thread_exec_id[80];
static _Thread_local int thread_owns_id;

static const char *const level_names[] = {
        [LOGL_ERROR] = "error",
        [LOGL_WARN] = "warn",
        [LOGL_INFO] = "info",
        [LOGL_DEBUG] = "debug",
};

void log_setup(enum log_level level, enum log_format format)
{
        cur_level = level;
        cur_format = format;
}

enum log_level log_get_level(void)
{
        return cur_level;
}

enum log_format log_get_format(void)
{
        return cur_format;
}

void log_set_stream(FILE *f)
{
        cur_stream = f;
}

void log_set_exec_id(const char *id)
{
        char *dst = thread_owns_id ? thread_exec_id : cur_exec_id;

        if (id == NULL)
                dst[0] = '\0';
        else
                snprintf(dst, sizeof(thread_exec_id), "%s", id);
}

void log_thread_own_exec_id(const char *id)
{
        thread_owns_id = 1;
        log_set_exec_id(id);
}

/* the id lines of this thread carry: its own, or the process-wide one */
static const char *exec_id(void)
{
        return thread_owns_id ? thread_exec_id : cur_exec_id;
}

const char *log_level_name(enum log_level level)
{
        if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
                return "?";
        return level_names[level];
}

int log_level_parse(const char *s, enum log_level *out)
{
        for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (strcmp(s, level_names[i]) == 0) {
                        *out = (enum log_level)i;
                        return 0;
                }
        }
        return -1;
}

int log_format_parse(const char *s, enum log_format *out)
{
        if (strcmp(s, "text") == 0)
                *out = LOGF_TEXT;
        else if (strcmp(s, "json") == 0)
                *out = LOGF_JSON;
        else
                return -1;
        return 0;
}

static void format_time(char *out, size_t n)
{
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void emit_json(FILE *f, enum log_level level, const char *msg)
{
        char when[64];
        json_t *o, *m;
        char *line;

        format_time(when, sizeof(when));
        o = json_object();
        json_object_set_new(o, "time", json_string(when));
        json_object_set_new(o, "level", json_string(log_level_name(level)));
        /* json_string refuses invalid UTF-8; keep the line, lose the bytes */
        m = json_string(msg);
        if (m == NULL)
                m = json_string("(message was not valid UTF-8)");
        json_object_set_new(o, "msg", m);
        if (exec_id()[0] != '\0')
                json_object_set_new(o, "exec_id", json_string(exec_id()));
        line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line != NULL) {
                fprintf(f, "%s\n", line);
                free(line);
        }
        json_decref(o);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
        FILE *f = cur_stream != NULL ? cur_stream : stderr;
        char msg[4096];

        if (level > cur_level)
                return;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (cur_format == LOGF_JSON) {
                emit_json(f, level, msg);
        } else if (level <= LOGL_WARN) {
                if (exec_id()[0] != '\0')
                        fprintf(f, "tfgate: %s: [%s] %s\n", log_level_name(level), exec_id(), msg);
                else
                        fprintf(f, "tfgate: %s: %s\n", log_level_name(level), msg);
        } else {
                if (exec_id()[0] != '\0')
                        fprintf(f, "tfgate: [%s] %s\n", exec_id(), msg);
                else
                        fprintf(f, "tfgate: %s\n", msg);
        }
        fflush(f);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vmsg(level, fmt, ap);
        va_end(ap);
}
