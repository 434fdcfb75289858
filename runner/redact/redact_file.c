/* redact_file.c - registering the secrets of a secrets file: the one format
 * `tfgate redact --secrets-file` and `tfgate check --secrets-file` share. */
#include <string.h>

#include "redact.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

#define SECRETS_FILE_MAX (16u << 20)

static bool is_ident(const char *s, size_t n)
{
        if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
                      (s[i] >= '0' && s[i] <= '9')))
                        return false;
        return true;
}

int redact_registry_add_file(struct redact_registry *r, const char *path, struct err *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len, start = 0, lineno = 0;
        int rc = file_read_secret(&data, &len, path, SECRETS_FILE_MAX, err);

        if (rc < 0)
                return rc;
        while (start < len) {
                char *nl = memchr(data + start, '\n', len - start);
                size_t end = nl ? (size_t)(nl - data) : len, e = end;
                const char *line = data + start, *eq;
                _cleanup_free_ char *name = NULL;

                lineno++;
                if (e > start && data[e - 1] == '\r')
                        e--;
                eq = memchr(line, '=', e - start);
                if (eq != NULL && is_ident(line, (size_t)(eq - line))) {
                        name = xstrndup(line, (size_t)(eq - line));
                        line = eq + 1;
                } else {
                        name = xasprintf("%s:%zu", path, lineno);
                }
                if (data + e > line) {
                        rc = redact_registry_add_secret(r, name, line, (size_t)(data + e - line), err);
                        if (rc < 0)
                                return rc;
                }
                start = end + 1;
        }
        explicit_bzero(data, len);
        return 0;
}
