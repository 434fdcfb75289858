/* config_dump.c - the effective configuration as YAML.
 *
 * The output is itself a valid configuration (test_config loads it back and
 * compares), with every key present: unset optional ones are shown as ~.
 * The config holds no secret values, only paths to secret files; the one
 * place a value could be secret is an emulator environment variable, and
 * those with secret-looking names are shown as <redacted>. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../util/units.h"
#include "config.h"
#include "config_int.h"

/* a double-quoted YAML string, or ~ for NULL */
static void put_str(FILE *f, const char *s)
{
        if (s == NULL) {
                fputs("~", f);
                return;
        }
        fputc('"', f);
        for (; *s != '\0'; s++) {
                unsigned char ch = (unsigned char)*s;

                if (ch == '"' || ch == '\\')
                        fprintf(f, "\\%c", ch);
                else if (ch < 0x20 || ch == 0x7f)
                        fprintf(f, "\\x%02x", ch);
                else
                        fputc(ch, f);
        }
        fputc('"', f);
}

static void put_kv(FILE *f, const char *indent, const char *key, const char *s)
{
        fprintf(f, "%s%s: ", indent, key);
        put_str(f, s);
        fputc('\n', f);
}

static void put_list(FILE *f, const char *indent, const char *key, char *const *v, size_t n)
{
        fprintf(f, "%s%s: [", indent, key);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        fputs(", ", f);
                put_str(f, v[i]);
        }
        fputs("]\n", f);
}

static void put_size(FILE *f, const char *indent, const char *key, uint64_t bytes)
{
        char s[32];

        format_size(s, sizeof(s), bytes);
        fprintf(f, "%s%s: %s\n", indent, key, s);
}

static void put_ms(FILE *f, const char *indent, const char *key, uint64_t ms)
{
        char s[64];

        format_duration(s, sizeof(s), ms);
        fprintf(f, "%s%s: %s\n", indent, key, s);
}

static void dump_forge(FILE *f, const struct cfg_forge *fg)
{
        fprintf(f, "  - type: %s\n", fg->type == FORGE_GITLAB ? "gitlab" : "github");
        put_kv(f, "    ", "name", fg->name);
        if (fg->type == FORGE_GITLAB) {
                put_kv(f, "    ", "url", fg->url);
        } else {
                put_kv(f, "    ", "api_url", fg->api_url);
                put_kv(f, "    ", "clone_url", fg->clone_url);
                if (fg->app_id > 0)
                        fprintf(f, "    app_id: %lld\n", (long long)fg->app_id);
                else
                        fputs("    app_id: ~\n", f);
                put_kv(f, "    ", "private_key_file", fg->private_key_file);
                put_list(f, "    ", "repositories", fg->repositories, fg->n_repositories);
                if (fg->shard_count > 0)
                        fprintf(f, "    shard: {index: %u, count: %u}\n", fg->shard_index, fg->shard_count);
                else
                        fputs("    shard: ~\n", f);
        }
        put_kv(f, "    ", "token_file", fg->token_file);
        put_kv(f, "    ", "ca_file", fg->tls.ca_file);
        put_kv(f, "    ", "client_cert_file", fg->tls.client_cert_file);
        put_kv(f, "    ", "client_key_file", fg->tls.client_key_file);
        put_ms(f, "    ", "poll_interval", fg->poll_interval_ms);
        fprintf(f, "    per_project_limit: %u\n", fg->per_project_limit);
        fprintf(f, "    request_concurrency: %u\n", fg->request_concurrency);
}

static void dump_terraform(FILE *f, const struct cfg_terraform *t)
{
        fputs("terraform:\n", f);
        put_kv(f, "  ", "binary", t->binary);
        fprintf(f, "  mode: %s\n", tf_mode_name(t->mode));
        put_list(f, "  ", "roots", t->roots, t->n_roots);
        fputs("  timeouts:\n", f);
        for (size_t s = 0; s < TF_STEP__COUNT; s++)
                put_ms(f, "    ", tf_step_name((enum tf_step)s), t->timeout_ms[s]);
        put_list(f, "  ", "variables", t->variables, t->n_variables);
}

static void dump_providers(FILE *f, const struct cfg_providers *p)
{
        fputs("providers:\n", f);
        put_kv(f, "  ", "mirror", p->mirror);
        fputs(p->n_allow ? "  allow:\n" : "  allow: []\n", f);
        for (size_t i = 0; i < p->n_allow; i++) {
                fputs("    - source: ", f);
                put_str(f, p->allow[i].source);
                fputs("\n      versions: ", f);
                put_str(f, p->allow[i].versions);
                fputc('\n', f);
        }
        fputs("  policy:\n", f);
        for (size_t r = 0; r < RULE__COUNT; r++)
                fprintf(f, "    %s: %s\n", policy_rule_name((enum policy_rule)r),
                        p->policy[r] == POLICY_WARN ? "warn" : "error");
}

static void dump_emulator(FILE *f, const struct cfg_emulator *e)
{
        if (!e->enabled) {
                fputs("emulator: none\n", f);
                return;
        }
        fputs("emulator:\n", f);
        put_list(f, "  ", "command", e->command, e->n_command);
        fputs(e->n_env ? "  env:\n" : "  env: {}\n", f);
        for (size_t i = 0; i < e->n_env; i++) {
                const char *eq = strchr(e->env[i], '=');
                int klen = (int)(eq - e->env[i]);
                char name[256];

                snprintf(name, sizeof(name), "%.*s", klen, e->env[i]);
                fprintf(f, "    %s: ", name);
                put_str(f, cfgv_env_is_secret(name) ? "<redacted>" : eq + 1);
                fputc('\n', f);
        }
        if (e->n_paths > 0)
                put_list(f, "  ", "paths", e->paths, e->n_paths);
        put_kv(f, "  ", "health", e->health);
        fprintf(f, "  port: %u\n", e->port);
        put_ms(f, "  ", "ready_timeout", e->ready_timeout_ms);
}

static void dump_sandbox(FILE *f, const struct cfg_sandbox *s)
{
        fputs("sandbox:\n", f);
        put_size(f, "  ", "memory", s->memory);
        fprintf(f, "  pids: %llu\n", (unsigned long long)s->pids);
        put_ms(f, "  ", "cpu", s->cpu_seconds * 1000);
        put_ms(f, "  ", "wall_timeout", s->wall_timeout_ms);
        put_size(f, "  ", "workspace_size", s->workspace_size);
        put_size(f, "  ", "output_limit", s->output_limit);
}

int config_dump(const struct config *c, FILE *f)
{
        fputs("# effective configuration from ", f);
        put_str(f, c->source);
        fputc('\n', f);
        fprintf(f, "concurrency: %u\n", c->concurrency);
        put_kv(f, "", "state_dir", c->state_dir);
        put_kv(f, "", "work_dir", c->work_dir);
        fputs(c->n_forges ? "forges:\n" : "forges: []\n", f);
        for (size_t i = 0; i < c->n_forges; i++)
                dump_forge(f, &c->forges[i]);
        dump_terraform(f, &c->terraform);
        dump_providers(f, &c->providers);
        dump_emulator(f, &c->emulator);
        dump_sandbox(f, &c->sandbox);
        fputs("signing:\n", f);
        put_kv(f, "  ", "key_file", c->signing.key_file);
        put_kv(f, "  ", "key_id", c->signing.key_id);
        fputs("audit:\n", f);
        put_kv(f, "  ", "path", c->audit_path);
        fputs("http:\n", f);
        put_kv(f, "  ", "listen", c->http.listen);
        fprintf(f, "  badges: %s\n", c->http.badges ? "true" : "false");
        put_kv(f, "  ", "public_url", c->http.public_url);
        put_kv(f, "  ", "webhook_secret_file", c->http.webhook_secret_file);
        fputs("log:\n", f);
        fprintf(f, "  level: %s\n", log_level_name(c->log_level));
        fprintf(f, "  format: %s\n", c->log_format == LOGF_JSON ? "json" : "text");
        fflush(f);
        return ferror(f) ? -EIO : 0;
}
