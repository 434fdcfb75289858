#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"

struct unit {
        const char *name;
        uint64_t mult;
};

static const struct unit size_units[] = {
        { "B", 1 },
        { "KB", 1000ULL }, { "MB", 1000000ULL }, { "GB", 1000000000ULL },
        { "TB", 1000000000000ULL },
        { "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 }, { "GiB", 1ULL << 30 },
        { "TiB", 1ULL << 40 },
        { "K", 1ULL << 10 }, { "M", 1ULL << 20 }, { "G", 1ULL << 30 },
        { "T", 1ULL << 40 },
};

static const struct unit duration_units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
        { "d", 86400000 },
};

/* parse leading digits of *p into *v; -ERANGE on overflow, -EINVAL if none */
static int take_digits(const char **p, uint64_t *v)
{
        const char *s = *p;
        uint64_t n = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        while (*s >= '0' && *s <= '9') {
                if (__builtin_mul_overflow(n, 10, &n) ||
                    __builtin_add_overflow(n, (uint64_t)(*s - '0'), &n))
                        return -ERANGE;
                s++;
        }
        *p = s;
        *v = n;
        return 0;
}

static const struct unit *find_unit(const struct unit *units, size_t n,
                                    const char *s, size_t len)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(units[i].name) == len && strncmp(units[i].name, s, len) == 0)
                        return &units[i];
        return NULL;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out, struct err *err)
{
        const char *p = s;
        uint64_t v;
        int r;

        if (s == NULL || *s == '\0')
                return err_set(err, 0, "expected a whole number, got nothing");
        r = take_digits(&p, &v);
        if (r == -ERANGE || (r == 0 && *p == '\0' && v > max))
                return err_set(err, 0, "%s is out of range (at most %llu)", s,
                               (unsigned long long)max);
        if (r < 0 || *p != '\0')
                return err_set(err, 0, "expected a whole number, got \"%s\"", s);
        *out = v;
        return 0;
}

int parse_size(const char *s, uint64_t *out, struct err *err)
{
        const char *p = s;
        const struct unit *u;
        uint64_t v, total;
        int r;

        if (s == NULL || *s == '\0')
                return err_set(err, 0, "expected a size like 512MiB, got nothing");
        if (*s == '-')
                return err_set(err, 0, "expected a size like 512MiB, got negative \"%s\"", s);
        r = take_digits(&p, &v);
        if (r == -ERANGE)
                return err_set(err, 0, "size \"%s\" is too large", s);
        if (r < 0)
                return err_set(err, 0, "expected a size like 512MiB, got \"%s\"", s);
        if (*p == ' ')
                p++;
        if (*p == '\0')
                return err_set(err, 0, "size \"%s\" has no unit (say B, KiB, MiB or GiB)", s);
        u = find_unit(size_units, ARRAY_SIZE(size_units), p, strlen(p));
        if (u == NULL)
                return err_set(err, 0, "expected a size like 512MiB, got \"%s\"", s);
        if (__builtin_mul_overflow(v, u->mult, &total))
                return err_set(err, 0, "size \"%s\" is too large", s);
        *out = total;
        return 0;
}

int parse_duration_ms(const char *s, uint64_t *out_ms, struct err *err)
{
        const char *p = s;
        uint64_t total = 0;

        if (s == NULL || *s == '\0')
                return err_set(err, 0, "expected a duration like 30s or 5m, got nothing");
        if (*s == '-')
                return err_set(err, 0, "expected a duration like 30s or 5m, got negative \"%s\"", s);
        while (*p != '\0') {
                const struct unit *u;
                uint64_t v, part;
                size_t ulen;
                int r = take_digits(&p, &v);

                if (r == -ERANGE)
                        return err_set(err, 0, "duration \"%s\" is too long", s);
                if (r < 0)
                        return err_set(err, 0, "expected a duration like 30s or 5m, got \"%s\"", s);
                ulen = strspn(p, "abcdefghijklmnopqrstuvwxyz");
                if (ulen == 0 && *p == '\0')
                        return err_set(err, 0, "duration \"%s\" has no unit (say ms, s, m or h)", s);
                u = find_unit(duration_units, ARRAY_SIZE(duration_units), p, ulen);
                if (u == NULL)
                        return err_set(err, 0, "expected a duration like 30s or 5m, got \"%s\"", s);
                if (__builtin_mul_overflow(v, u->mult, &part) ||
                    __builtin_add_overflow(total, part, &total))
                        return err_set(err, 0, "duration \"%s\" is too long", s);
                p += ulen;
        }
        *out_ms = total;
        return 0;
}

void format_size(char *out, size_t n, uint64_t bytes)
{
        static const struct unit binary[] = {
                { "TiB", 1ULL << 40 }, { "GiB", 1ULL << 30 },
                { "MiB", 1ULL << 20 }, { "KiB", 1ULL << 10 },
        };

        for (size_t i = 0; i < ARRAY_SIZE(binary); i++) {
                if (bytes != 0 && bytes % binary[i].mult == 0) {
                        snprintf(out, n, "%llu%s",
                                 (unsigned long long)(bytes / binary[i].mult), binary[i].name);
                        return;
                }
        }
        snprintf(out, n, "%lluB", (unsigned long long)bytes);
}

void format_duration(char *out, size_t n, uint64_t ms)
{
        static const struct unit parts[] = {
                { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
        };
        size_t used = 0;

        if (n == 0)
                return;
        out[0] = '\0';
        if (ms == 0) {
                snprintf(out, n, "0s");
                return;
        }
        for (size_t i = 0; i < ARRAY_SIZE(parts) && ms > 0; i++) {
                uint64_t q = ms / parts[i].mult;

                if (q == 0)
                        continue;
                ms -= q * parts[i].mult;
                if (used < n)
                        used += (size_t)snprintf(out + used, n - used, "%llu%s",
                                                 (unsigned long long)q, parts[i].name);
        }
}
