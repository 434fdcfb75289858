/* register.c - tfgate register/unregister gitlab: runner verification
 * (glrt- tokens, GitLab 16.0+), the legacy registration-token flow, and
 * removing this host's runner manager or the whole runner. */
#include "gitlab_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define REG_TIMEOUT_MS 60000u

void gitlab_registration_free(struct gitlab_registration *r)
{
        free(r->token_expires_at);
        if (r->token != NULL) {
                explicit_bzero(r->token, strlen(r->token));
                free(r->token);
        }
        memset(r, 0, sizeof(*r));
}

static void curl_cleanupp(CURL **c)
{
        if (*c != NULL)
                curl_easy_cleanup(*c);
}

static void http_freep(struct gl_http *h)
{
        gl_http_free(h);
}

/* one JSON request with the runner token; *rs holds the reply */
static int call(const struct gitlab_conn *c, const char *method, const char *path, json_t *body,
                struct gl_resp *rs, struct err *err)
{
        _cleanup_(http_freep) struct gl_http h = { 0 };
        _cleanup_(curl_cleanupp) CURL *curl = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = gl_http_init(&h, c->url, c->tls, err);
        if (r < 0)
                return r;
        curl = curl_easy_init();
        if (curl == NULL)
                return err_set(err, ENOMEM, "curl_easy_init");
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL)
                return err_set(err, ENOMEM, "JSON");
        r = gl_http_do(&h, curl, &(struct gl_req){
                .method = method, .path = path, .token_header = "RUNNER-TOKEN", .token = c->token,
                .content_type = "application/json", .body = text, .body_len = strlen(text),
                .timeout_ms = REG_TIMEOUT_MS, .want_json = strcmp(method, "DELETE") != 0 },
                rs, err);
        explicit_bzero(text, strlen(text));
        return r;
}

static int http_error(const struct gl_resp *rs, const char *what, struct err *err)
{
        char msg[200];

        gl_resp_message(msg, sizeof(msg), rs);
        if (rs->status == 403)
                return err_set(err, EACCES, "%s: GitLab refused the token (403)%s%s", what,
                               msg[0] ? ": " : "", msg);
        if (rs->status == 410)
                return err_set(err, EPERM, "%s: registration with registration tokens is disabled "
                               "on this GitLab (410): create a runner in the UI and use its glrt- "
                               "token", what);
        return err_set(err, EPROTO, "%s: HTTP %ld%s%s", what, rs->status, msg[0] ? ": " : "", msg);
}

/* {id, token, token_expires_at} into out and the state file */
static int take_reply(struct gitlab_registration *out, const struct gitlab_conn *c,
                      const struct gl_resp *rs, bool keep_token, struct err *err)
{
        _cleanup_(json_decrefp) json_t *st = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL;
        json_t *id, *exp, *tok;
        int r;

        /* older GitLab answers verify with a bare "200" */
        if (rs->body.len > 0 && rs->body.data[0] == '{') {
                doc = gl_resp_json(rs, err);
                if (doc == NULL)
                        return -EPROTO;
        }
        id = json_object_get(doc, "id");
        exp = json_object_get(doc, "token_expires_at");
        tok = json_object_get(doc, "token");
        if (id != NULL && (!json_is_integer(id) || json_integer_value(id) <= 0))
                return err_set(err, EPROTO, "reply: id is not a positive integer");
        if (exp != NULL && !json_is_null(exp) &&
            (!json_is_string(exp) || json_string_length(exp) > 64))
                return err_set(err, EPROTO, "reply: token_expires_at is not a date");
        out->runner_id = id ? json_integer_value(id) : 0;
        out->token_expires_at = json_is_string(exp) ? xstrdup(json_string_value(exp)) : NULL;
        if (keep_token) {
                if (!json_is_string(tok) || gl_token_check(json_string_value(tok), err) < 0)
                        return err_set(err, EPROTO, "reply: no usable runner token");
                out->token = xstrdup(json_string_value(tok));
        }
        r = gl_state_load(&st, c->state_dir, c->name, err);
        if (r < 0)
                return r;
        if (st == NULL)
                st = json_object();
        json_object_set_new(st, "url", json_string(c->url));
        json_object_set_new(st, "system_id", json_string(out->system_id));
        json_object_set_new(st, "runner_id", json_integer(out->runner_id));
        json_object_set_new(st, "token_expires_at",
                            out->token_expires_at ? json_string(out->token_expires_at) : json_null());
        json_object_set_new(st, "registered_at", json_integer((json_int_t)time(NULL)));
        return gl_state_save(st, c->state_dir, c->name, err);
}

/* POST body to path; the answer with status want becomes *out */
static int post_registration(struct gitlab_registration *out, const struct gitlab_conn *c,
                             const char *path, json_t *body, long want, bool legacy,
                             struct err *err)
{
        struct gl_resp rs;
        int r;

        gl_resp_init(&rs);
        r = call(c, "POST", path, body, &rs, err);
        if (r == 0 && rs.status != want) {
                char what[64];

                snprintf(what, sizeof(what), "POST %s", path);
                r = http_error(&rs, what, err);
        }
        if (r == 0)
                r = take_reply(out, c, &rs, legacy, err);
        gl_resp_free(&rs);
        return r;
}

int gitlab_register_verify(struct gitlab_registration *out, const struct gitlab_conn *c,
                           struct err *err)
{
        _cleanup_(json_decrefp) json_t *body = NULL;
        int r;

        memset(out, 0, sizeof(*out));
        r = gl_token_check(c->token, err);
        if (r < 0)
                return r;
        if (strncmp(c->token, "glrt-", 5) != 0)
                return err_set(err, EINVAL, "not a runner authentication token (glrt-...): for a "
                               "registration token use --registration-token-file");
        r = gitlab_system_id(out->system_id, c->state_dir, c->name, err);
        if (r < 0)
                return r;
        body = json_pack("{s:s, s:s, s:o}", "token", c->token, "system_id", out->system_id, "info",
                         gl_runner_info());
        return post_registration(out, c, "runners/verify", body, 200, false, err);
}

int gitlab_register_legacy(struct gitlab_registration *out, const struct gitlab_conn *c,
                           const char *description, const char *tag_list, struct err *err)
{
        _cleanup_(json_decrefp) json_t *body = NULL;
        int r;

        memset(out, 0, sizeof(*out));
        r = gl_token_check(c->token, err);
        if (r < 0)
                return r;
        r = gitlab_system_id(out->system_id, c->state_dir, c->name, err);
        if (r < 0)
                return r;
        body = json_pack("{s:s, s:s, s:o, s:b, s:b}", "token", c->token, "description",
                         description ? description : "tfgate", "info", gl_runner_info(),
                         "run_untagged", tag_list == NULL || tag_list[0] == '\0', "locked", true);
        if (tag_list != NULL && tag_list[0] != '\0')
                json_object_set_new(body, "tag_list", json_string(tag_list));
        return post_registration(out, c, "runners", body, 201, true, err);
}

int gitlab_unregister(const struct gitlab_conn *c, bool all, struct err *err)
{
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *path = NULL;
        char sid[GITLAB_SYSTEM_ID_LEN + 1];
        struct gl_resp rs;
        int r;

        r = gl_token_check(c->token, err);
        if (r < 0)
                return r;
        if (all) {
                body = json_pack("{s:s}", "token", c->token);
        } else {
                r = gitlab_system_id(sid, c->state_dir, c->name, err);
                if (r < 0)
                        return r;
                body = json_pack("{s:s, s:s}", "token", c->token, "system_id", sid);
        }
        gl_resp_init(&rs);
        r = call(c, "DELETE", all ? "runners" : "runners/managers", body, &rs, err);
        if (r == 0 && rs.status != 204)
                r = http_error(&rs, all ? "DELETE runners" : "DELETE runners/managers", err);
        gl_resp_free(&rs);
        if (r < 0)
                return r;
        path = gl_state_path(c->state_dir, c->name);
        if (unlink(path) < 0 && errno != ENOENT)
                return err_set(err, errno, "unregistered, but removing %s failed", path);
        return 0;
}
