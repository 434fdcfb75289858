/* wire.c - pure helpers for what GitHub sends: Link headers, rate-limit
 * headers, the shard function and the pull request list parser. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "github_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

/* Link: <https://api.github.com/...&page=2>; rel="next", <...>; rel="last" */
int github_link_next(char **out, const char *link, struct err *err)
{
        const char *p = link;

        *out = NULL;
        if (link == NULL)
                return 0;
        while (*p != '\0') {
                const char *lt, *gt, *end;

                while (*p == ' ' || *p == ',')
                        p++;
                if (*p == '\0')
                        break;
                if (*p != '<')
                        return err_set(err, EINVAL, "Link header: expected '<'");
                lt = p + 1;
                gt = strchr(lt, '>');
                if (gt == NULL)
                        return err_set(err, EINVAL, "Link header: unterminated '<'");
                end = strchr(gt, ',');
                /* a URL never holds an unescaped ',' after '>', so the
                 * parameters run to the next ',' */
                if (end == NULL)
                        end = gt + strlen(gt);
                for (const char *q = gt + 1; q < end; q++) {
                        static const char rel[] = "rel=\"next\"";
                        static const char rel_bare[] = "rel=next";

                        if (((size_t)(end - q) >= sizeof(rel) - 1 &&
                             strncasecmp(q, rel, sizeof(rel) - 1) == 0) ||
                            ((size_t)(end - q) == sizeof(rel_bare) - 1 &&
                             strncasecmp(q, rel_bare, sizeof(rel_bare) - 1) == 0)) {
                                if (gt == lt)
                                        return err_set(err, EINVAL, "Link header: empty URL");
                                for (const char *u = lt; u < gt; u++)
                                        if ((unsigned char)*u <= ' ' || *u == 0x7f)
                                                return err_set(err, EINVAL,
                                                               "Link header: bad character in URL");
                                *out = xstrndup(lt, (size_t)(gt - lt));
                                return 0;
                        }
                }
                p = end;
        }
        return 0;
}

void github_ratelimit_init(struct github_ratelimit *rl)
{
        rl->have = false;
        rl->limit = rl->remaining = rl->reset = -1;
        rl->retry_after = -1;
        rl->poll_interval = -1;
}

/* a non-negative decimal that fits in 53 bits, else -1 */
static int64_t parse_count(const char *v, size_t n)
{
        int64_t x = 0;

        if (n == 0 || n > 15)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char)v[i]))
                        return -1;
                x = x * 10 + (v[i] - '0');
        }
        return x;
}

void github_ratelimit_header(struct github_ratelimit *rl, const char *line, size_t len)
{
        static const struct {
                const char *name;
                size_t off;
        } names[] = {
                { "x-ratelimit-limit", offsetof(struct github_ratelimit, limit) },
                { "x-ratelimit-remaining", offsetof(struct github_ratelimit, remaining) },
                { "x-ratelimit-reset", offsetof(struct github_ratelimit, reset) },
                { "retry-after", offsetof(struct github_ratelimit, retry_after) },
                { "x-poll-interval", offsetof(struct github_ratelimit, poll_interval) },
        };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                size_t nl = strlen(names[i].name);
                const char *v, *end = line + len;
                int64_t x;

                if (len <= nl || strncasecmp(line, names[i].name, nl) != 0 || line[nl] != ':')
                        continue;
                v = line + nl + 1;
                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                while (end > v && isspace((unsigned char)end[-1]))
                        end--;
                /* retry-after may also be an HTTP date; GitHub sends seconds,
                 * and an unparsable value counts as absent (the 60 s rule
                 * then applies) */
                x = parse_count(v, (size_t)(end - v));
                if (x < 0)
                        return;
                *(int64_t *)((char *)rl + names[i].off) = x;
                if (strcmp(names[i].name, "x-ratelimit-remaining") == 0)
                        rl->have = true;
                return;
        }
}

int64_t github_ratelimit_wait(long status, const struct github_ratelimit *rl,
                              const char *body, time_t now)
{
        bool limited_status = status == 403 || status == 429;

        if (!limited_status)
                return 0;
        if (rl->retry_after >= 0)
                return rl->retry_after > 0 ? rl->retry_after : 1;
        if (rl->have && rl->remaining == 0 && rl->reset >= 0)
                return rl->reset > now ? rl->reset - now : 1;
        if (status == 429 || (body != NULL && strcasestr(body, "rate limit") != NULL))
                return 60;
        return 0;
}

uint64_t github_poll_interval_ms(uint64_t base_ms, const struct github_ratelimit *rl,
                                 uint64_t calls_per_scan, time_t now)
{
        uint64_t ms = base_ms;

        if (rl->poll_interval > 0 && (uint64_t)rl->poll_interval * 1000 > ms)
                ms = (uint64_t)rl->poll_interval * 1000;
        if (rl->have && rl->limit > 0 && rl->reset > now) {
                uint64_t window_ms = (uint64_t)(rl->reset - now) * 1000;
                int64_t reserve = rl->limit / 4;
                int64_t spendable = rl->remaining - reserve;

                if (spendable <= 0) {
                        /* only reports may spend the rest: next scan after the reset */
                        if (window_ms > ms)
                                ms = window_ms;
                } else if (calls_per_scan > 0) {
                        uint64_t scans = (uint64_t)spendable / calls_per_scan;
                        uint64_t need = scans > 0 ? window_ms / scans : window_ms;

                        if (need > ms)
                                ms = need;
                }
        }
        return ms;
}

uint64_t github_shard_hash(const char *repo, const char *sha)
{
        uint64_t h = 0xcbf29ce484222325ull;
        const char *parts[] = { repo, "/", sha };

        for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
                for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
                        h ^= (uint64_t)tolower(*p);
                        h *= 0x100000001b3ull;
                }
        }
        return h;
}

bool github_shard_mine(const char *repo, const char *sha, uint32_t index, uint32_t count)
{
        if (count <= 1)
                return true;
        return github_shard_hash(repo, sha) % count == index;
}

static bool sha_ok(const char *s)
{
        return job_sha_valid(s);
}

static int parse_pr(struct github_pr *pr, json_t *o, const char *repo, const char **why)
{
        json_t *num = json_object_get(o, "number");
        json_t *head = json_object_get(o, "head");
        json_t *base = json_object_get(o, "base");
        json_t *sha = json_object_get(head, "sha");
        json_t *base_repo = json_object_get(base, "repo");
        json_t *base_full = json_object_get(base_repo, "full_name");
        json_t *head_repo = json_object_get(head, "repo");
        json_t *head_full = json_object_get(head_repo, "full_name");
        json_t *draft = json_object_get(o, "draft");

        if (!json_is_object(o))
                return *why = "not an object", -1;
        if (!json_is_integer(num) || json_integer_value(num) < 1 ||
            json_integer_value(num) > INT32_MAX)
                return *why = "number is not a positive integer", -1;
        if (!json_is_string(sha) || !sha_ok(json_string_value(sha)))
                return *why = "head.sha is not 40 or 64 lowercase hex digits", -1;
        if (!json_is_string(base_full) || strcasecmp(json_string_value(base_full), repo) != 0)
                return *why = "base.repo.full_name is not the polled repository", -1;
        if (draft != NULL && !json_is_boolean(draft))
                return *why = "draft is not a boolean", -1;
        pr->number = (uint64_t)json_integer_value(num);
        snprintf(pr->sha, sizeof(pr->sha), "%s", json_string_value(sha));
        /* a deleted fork has head.repo null: still a fork, still fetched
         * from the base repository as refs/pull/N/head */
        pr->fork = !json_is_string(head_full) ||
                   strcasecmp(json_string_value(head_full), repo) != 0;
        pr->draft = json_is_true(draft);
        return 0;
}

int github_pulls_parse(struct github_pr **out, size_t *n, size_t *refused, const char *json,
                       size_t len, const char *repo, struct err *err)
{
        json_error_t je;
        json_t *doc;
        _cleanup_free_ struct github_pr *prs = NULL;
        size_t k = 0, bad = 0;

        *out = NULL;
        *n = 0;
        *refused = 0;
        doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL)
                return err_set(err, EINVAL, "pull requests of %s: bad JSON at %d:%d", repo,
                               je.line, je.column);
        if (!json_is_array(doc)) {
                json_decref(doc);
                return err_set(err, EINVAL, "pull requests of %s: not an array", repo);
        }
        prs = xcalloc(json_array_size(doc) + 1, sizeof(*prs));
        for (size_t i = 0; i < json_array_size(doc); i++) {
                const char *why = NULL;

                if (parse_pr(&prs[k], json_array_get(doc, i), repo, &why) < 0) {
                        bad++;
                        log_warn("github: %s: pull request entry %zu refused: %s", repo, i, why);
                        continue;
                }
                k++;
        }
        json_decref(doc);
        *out = TAKE_PTR(prs);
        *n = k;
        *refused = bad;
        return 0;
}
