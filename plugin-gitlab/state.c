/* state.c - this host's runner identity: the system_id GitLab uses to tell
 * runner managers apart, and the registration state file beside it
 * (<state_dir>/gitlab-<name>.json, 0600). */
#include "gitlab_int.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

#define STATE_MAX (64u << 10)

int gl_system_id_from_machine_id(char out[GITLAB_SYSTEM_ID_LEN + 1], const char *machine_id,
                                 size_t len, struct err *err)
{
        static const char msg[] = "gitlab-runner";
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];

        /* gitlab-runner keys the HMAC with the machine id as read, minus
         * surrounding whitespace */
        while (len > 0 && (machine_id[len - 1] == '\n' || machine_id[len - 1] == ' '))
                len--;
        if (len == 0)
                return err_set(err, ENODATA, "empty machine id");
        if (HMAC(EVP_sha256(), machine_id, (int)len, (const unsigned char *)msg, sizeof(msg) - 1,
                 mac, &maclen) == NULL)
                return err_set(err, EIO, "HMAC-SHA256 failed");
        hex_encode(hex, mac, maclen);
        snprintf(out, GITLAB_SYSTEM_ID_LEN + 1, "s_%.12s", hex);
        return 0;
}

static void random_system_id(char out[GITLAB_SYSTEM_ID_LEN + 1])
{
        static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        unsigned char r[12];

        if (random_bytes(r, sizeof(r), NULL) < 0)
                memset(r, 0, sizeof(r));
        out[0] = 'r';
        out[1] = '_';
        for (size_t i = 0; i < sizeof(r); i++)
                out[2 + i] = alnum[r[i] % (sizeof(alnum) - 1)];
        out[GITLAB_SYSTEM_ID_LEN] = '\0';
}

static bool system_id_valid(const char *s)
{
        return s != NULL && strlen(s) == GITLAB_SYSTEM_ID_LEN && (s[0] == 's' || s[0] == 'r') &&
               s[1] == '_' && strspn(s + 2, "abcdefghijklmnopqrstuvwxyz0123456789") == 12;
}

char *gl_state_path(const char *state_dir, const char *name)
{
        return xasprintf("%s/gitlab-%s.json", state_dir, name ? name : "gitlab");
}

int gl_state_load(json_t **out, const char *state_dir, const char *name, struct err *err)
{
        _cleanup_free_ char *path = gl_state_path(state_dir, name);
        _cleanup_free_ char *data = NULL;
        json_error_t je;
        size_t len;
        int r;

        *out = NULL;
        r = file_read_secret(&data, &len, path, STATE_MAX, err);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return r;
        *out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
        if (*out == NULL || !json_is_object(*out)) {
                json_decref(*out);
                *out = NULL;
                return err_set(err, EINVAL, "%s: not a JSON object", path);
        }
        return 0;
}

int gl_state_save(const json_t *doc, const char *state_dir, const char *name, struct err *err)
{
        _cleanup_free_ char *path = gl_state_path(state_dir, name);
        _cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        int r;

        if (text == NULL)
                return err_set(err, ENOMEM, "serialising %s", path);
        r = mkdir_p(state_dir, 0700, err);
        if (r < 0)
                return r;
        r = file_write_atomic(path, text, strlen(text), 0600, err);
        if (r < 0)
                return r;
        return 0;
}

int gitlab_system_id(char out[GITLAB_SYSTEM_ID_LEN + 1], const char *state_dir, const char *name,
                     struct err *err)
{
        _cleanup_(json_decrefp) json_t *st = NULL;
        _cleanup_free_ char *mid = NULL;
        size_t len;
        const char *s;
        int r;

        r = gl_state_load(&st, state_dir, name, err);
        if (r < 0)
                return r;
        s = json_string_value(json_object_get(st, "system_id"));
        if (s != NULL) {
                if (!system_id_valid(s))
                        return err_set(err, EINVAL, "%s/gitlab-%s.json: system_id \"%.20s\" is not "
                                       "s_ or r_ and 12 characters", state_dir, name, s);
                memcpy(out, s, GITLAB_SYSTEM_ID_LEN + 1);
                return 0;
        }
        if (file_read_all(&mid, &len, "/etc/machine-id", 4096, NULL) < 0 ||
            gl_system_id_from_machine_id(out, mid, len, NULL) < 0)
                random_system_id(out);
        if (st == NULL)
                st = json_object();
        json_object_set_new(st, "system_id", json_string(out));
        return gl_state_save(st, state_dir, name, err);
}
