/* test_hcl.c - the HCL native-syntax reader: structure, decoding,
 * positions, malformed inputs with their exact error positions, limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/hcl/hcl.h"
#include "runner/util/buf.h"
#include "runner/util/xalloc.h"

static struct hcl_file *parse_ok(const char *src)
{
        struct hcl_file *f = NULL;
        struct err e = ERR_INIT;

        if (hcl_parse(&f, "t.tf", src, strlen(src), &e) < 0)
                fail_msg("unexpected parse error: %s", e.msg);
        return f;
}

static const struct hcl_value *attr_value(const struct hcl_body *b, const char *name)
{
        const struct hcl_attr *a = hcl_body_attr(b, name);

        assert_non_null(a);
        return a->value;
}

static void text_is(const struct hcl_value *v, const char *want)
{
        assert_int_equal(v->text_len, strlen(want));
        assert_memory_equal(v->text, want, v->text_len);
}

static void terraform_block_and_literals(void **state)
{
        struct hcl_file *f = parse_ok(
                "# header\n"
                "terraform {\n"
                "  required_version = \">= 1.5.0\" # trailing\n"
                "  required_providers {\n"
                "    aws = {\n"
                "      source  = \"hashicorp/aws\" // why\n"
                "      version = \"~> 5.0\"\n"
                "    }\n"
                "    random = \"~> 3.1\"\n"
                "    quoted = { \"source\": \"x/y\", \"version\": \"1.0.0\" }\n"
                "  }\n"
                "}\n");
        const struct hcl_block *tf = hcl_body_next_block(&f->body, "terraform", NULL);
        const struct hcl_block *rp;
        const struct hcl_value *aws;

        assert_non_null(tf);
        assert_int_equal(tf->pos.line, 2);
        assert_int_equal(tf->pos.col, 1);
        assert_string_equal(hcl_value_str(attr_value(&tf->body, "required_version")), ">= 1.5.0");
        rp = hcl_body_next_block(&tf->body, "required_providers", NULL);
        assert_non_null(rp);
        aws = attr_value(&rp->body, "aws");
        assert_int_equal(aws->kind, HCL_OBJECT);
        assert_string_equal(hcl_value_str(hcl_object_get(aws, "source")), "hashicorp/aws");
        assert_string_equal(hcl_value_str(hcl_object_get(aws, "version")), "~> 5.0");
        assert_int_equal(aws->members[1].pos.line, 7);
        assert_int_equal(aws->members[1].pos.col, 7);
        assert_string_equal(hcl_value_str(attr_value(&rp->body, "random")), "~> 3.1");
        assert_string_equal(hcl_value_str(hcl_object_get(attr_value(&rp->body, "quoted"), "source")), "x/y");
        assert_int_equal(hcl_body_attr(&rp->body, "random")->pos.line, 9);
        assert_int_equal(hcl_body_attr(&rp->body, "random")->pos.col, 5);
        assert_null(hcl_body_next_block(&f->body, "terraform", tf));
        hcl_file_free(f);
}

static void scalars_and_lists(void **state)
{
        struct hcl_file *f = parse_ok(
                "a = [1, 2.5e3, true, false, null, \"s\\u00e9\\n\", [\"x\",],]\n"
                "hashes = [\n"
                "  \"h1:abc=\",\n"
                "  \"zh:0123\", # comment inside a list\n"
                "]\n"
                "neg = -1\n"
                "esc = \"$${literal} %%{x} \\\"q\\\" \\\\\"\n");
        const struct hcl_value *a = attr_value(&f->body, "a"), *h;

        assert_int_equal(a->kind, HCL_LIST);
        assert_int_equal(a->n_items, 7);
        assert_true(a->items[0]->number == 1.0);
        assert_true(a->items[1]->number == 2500.0);
        assert_int_equal(a->items[2]->kind, HCL_BOOL);
        assert_true(a->items[2]->boolean);
        assert_false(a->items[3]->boolean);
        assert_int_equal(a->items[4]->kind, HCL_NULL);
        assert_string_equal(a->items[5]->str, "s\xc3\xa9\n");
        assert_int_equal(a->items[6]->kind, HCL_LIST);
        assert_int_equal(a->items[6]->n_items, 1);
        h = attr_value(&f->body, "hashes");
        assert_int_equal(h->n_items, 2);
        assert_string_equal(h->items[1]->str, "zh:0123");
        assert_int_equal(h->items[1]->pos.line, 4);
        assert_int_equal(h->items[1]->pos.col, 3);
        assert_int_equal(attr_value(&f->body, "neg")->kind, HCL_EXPR);
        text_is(attr_value(&f->body, "neg"), "-1");
        assert_string_equal(hcl_value_str(attr_value(&f->body, "esc")), "${literal} %{x} \"q\" \\");
        hcl_file_free(f);
}

static void expressions_kept_as_text(void **state)
{
        struct hcl_file *f = parse_ok(
                "locals {\n"
                "  cond = var.a ? \"x}\" : { b = 1 }\n"
                "  call = merge(var.tags, {\n"
                "    Name = \"n-${var.env}\"\n"
                "  })\n"
                "  fl   = [for s in var.list : upper(s) if s != \"\"]\n"
                "  fo   = { for k, v in var.m : k => v... }\n"
                "  tpl  = \"a-${join(\",\", [\"}\", \"${var.x}\"])}-%{ if var.y }y%{ endif }\"\n"
                "  idx  = var.list[0].name\n"
                "  cmp  = var.a == 1 && var.b >= 2\n"
                "}\n"
                "one_line { a = 1 }\n");
        const struct hcl_block *l = hcl_body_next_block(&f->body, "locals", NULL);

        text_is(attr_value(&l->body, "cond"), "var.a ? \"x}\" : { b = 1 }");
        text_is(attr_value(&l->body, "call"), "merge(var.tags, {\n    Name = \"n-${var.env}\"\n  })");
        assert_int_equal(attr_value(&l->body, "fl")->kind, HCL_EXPR);
        text_is(attr_value(&l->body, "fo"), "{ for k, v in var.m : k => v... }");
        assert_int_equal(attr_value(&l->body, "tpl")->kind, HCL_EXPR);
        text_is(attr_value(&l->body, "idx"), "var.list[0].name");
        text_is(attr_value(&l->body, "cmp"), "var.a == 1 && var.b >= 2");
        assert_int_equal(attr_value(&hcl_body_next_block(&f->body, "one_line", NULL)->body, "a")->number, 1);
        hcl_file_free(f);
}

static void heredocs(void **state)
{
        struct hcl_file *f = parse_ok(
                "r \"a\" \"b\" {\n"
                "  plain = <<EOF\n"
                "line \"one\" }\n"
                "  EOFX not the end\n"
                "EOF\n"
                "  ind = <<-EOT\n"
                "    a\n"
                "      b\n"
                "    EOT\n"
                "  tpl = <<POLICY\n"
                "{\"x\": \"${jsonencode({a = \"POLICY\"})}\"}\n"
                "POLICY\n"
                "  after = 1\n"
                "}\n");
        const struct hcl_block *r = hcl_body_next_block(&f->body, "r", NULL);

        assert_int_equal(r->n_labels, 2);
        assert_string_equal(r->labels[1], "b");
        assert_string_equal(hcl_value_str(attr_value(&r->body, "plain")), "line \"one\" }\n  EOFX not the end\n");
        assert_string_equal(hcl_value_str(attr_value(&r->body, "ind")), "a\n  b\n");
        assert_int_equal(attr_value(&r->body, "tpl")->kind, HCL_EXPR);
        assert_int_equal(hcl_body_attr(&r->body, "after")->pos.line, 13);
        hcl_file_free(f);
}

static void crlf_bom_and_comments_everywhere(void **state)
{
        struct hcl_file *f = parse_ok(
                "\xef\xbb\xbf/* lead */ resource /* a */ \"x\" /* b */ \"y\" /* c */ {\r\n"
                "  // note\r\n"
                "  a = \"v\" /* inline */\r\n"
                "  b = [ # one\r\n"
                "    \"w\" // two\r\n"
                "  ]\r\n"
                "}\r\n");
        const struct hcl_block *r = hcl_body_next_block(&f->body, "resource", NULL);

        assert_non_null(r);
        assert_string_equal(r->labels[0], "x");
        assert_string_equal(r->labels[1], "y");
        assert_string_equal(hcl_value_str(attr_value(&r->body, "a")), "v");
        assert_string_equal(hcl_value_str(attr_value(&r->body, "b")->items[0]), "w");
        assert_int_equal(hcl_body_attr(&r->body, "b")->pos.line, 4);
        hcl_file_free(f);
}

struct bad {
        const char *src;
        const char *msg;        /* the whole error message */
};

static const struct bad bad_inputs[] = {
        { "a = \"abc\n", "t.tf:1:5: unterminated string" },
        { "x {\n  y {\n    a = \"b\n  }\n}\n", "t.tf:3:9: unterminated string" },
        { "a = 1\n/* never closed\n", "t.tf:2:1: unterminated comment" },
        { "a = <<EOF\nbody\n", "t.tf:1:5: unterminated heredoc: no line \"EOF\"" },
        { "a = <<EOF body\nEOF\n", "t.tf:1:10: heredoc: expected a newline after the \"EOF\" marker" },
        { "b {\n  a = 1\n", "t.tf:1:3: unclosed block: no '}' matches this '{'" },
        { "a = [1, 2\n", "t.tf:1:5: unclosed '['" },
        { "a = f(1, 2]\n", "t.tf:1:11: unexpected ']', expected ')' to close '(' at 1:6" },
        { "a =\n", "t.tf:1:4: expected an expression, found newline" },
        { "a = }\n", "t.tf:1:5: expected an expression, found '}'" },
        { "}\n", "t.tf:1:1: unexpected '}'" },
        { "resource \"a\" \"b\" = 1\n", "t.tf:1:18: expected '=' or a block after \"resource\", found '='" },
        { "a = 1 b = 2\n", "t.tf:1:9: unexpected '=': one attribute per line" },
        { "b {\n} c = 1\n", "t.tf:2:3: expected a newline after the block, found 'c'" },
        { "a = 1\na = 2\n", "t.tf:2:1: attribute \"a\" redefined (first defined at 1:1)" },
        { "a = { b }\n", "t.tf:1:9: expected '=' or ':' after object key, found '}'" },
        { "a = \"\\q\"\n", "t.tf:1:6: invalid escape sequence \\q" },
        { "a = \"\\u12\"\n", "t.tf:1:6: invalid \\u escape: expected 4 hex digits" },
        { "a = \"${var.x\"\n", "t.tf:1:13: unterminated string" },
        { "a = \"${var.x", "t.tf:1:7: unclosed '{'" },
        { "b \"${x}\" {\n}\n", "t.tf:1:3: block label cannot contain a template" },
        { "9 = 1\n", "t.tf:1:1: expected an attribute or block name, found '9'" },
        { "a = 1\n\x01", "t.tf:2:1: expected an attribute or block name, found 0x01" },
        { "b {", "t.tf:1:3: unclosed block: no '}' matches this '{'" },
        { "a = \"x\" \"", "t.tf:1:9: unterminated string" },
};

static void malformed_inputs_name_the_position(void **state)
{
        for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
                struct hcl_file *f = (struct hcl_file *)1;
                struct err e = ERR_INIT;
                int r = hcl_parse(&f, "t.tf", bad_inputs[i].src, strlen(bad_inputs[i].src), &e);

                if (r >= 0 || strcmp(e.msg, bad_inputs[i].msg) != 0)
                        fail_msg("case %zu: r=%d got \"%s\", want \"%s\"", i, r, e.msg, bad_inputs[i].msg);
                assert_null(f);
        }
}

static void depth_limit(void **state)
{
        struct buf b = BUF_INIT(1 << 20);
        struct hcl_file *f = NULL;
        struct err e = ERR_INIT;

        buf_puts(&b, "a = ", NULL);
        for (int i = 0; i < 100000; i++)
                buf_putc(&b, '[', NULL);
        assert_true(hcl_parse(&f, "t.tf", b.data, b.len, &e) < 0);
        assert_non_null(strstr(e.msg, "nesting deeper than 64 levels"));
        buf_reset(&b);
        /* the same through strings in interpolations and blocks */
        buf_puts(&b, "a = ", NULL);
        for (int i = 0; i < 1000; i++)
                buf_puts(&b, "\"${", NULL);
        assert_true(hcl_parse(&f, "t.tf", b.data, b.len, &e) < 0);
        assert_non_null(strstr(e.msg, "nesting deeper"));
        buf_reset(&b);
        for (int i = 0; i < 1000; i++)
                buf_puts(&b, "b {\n", NULL);
        assert_true(hcl_parse(&f, "t.tf", b.data, b.len, &e) < 0);
        assert_non_null(strstr(e.msg, "nesting deeper"));
        buf_free(&b);
        assert_null(f);
}

static void size_and_node_limits(void **state)
{
        struct hcl_file *f = NULL;
        struct err e = ERR_INIT;
        size_t big = HCL_MAX_FILE_SIZE + 1;
        char *src = xmalloc(big);
        struct buf b = BUF_INIT(HCL_MAX_FILE_SIZE);

        memset(src, '\n', big);
        assert_int_equal(hcl_parse(&f, "t.tf", src, big, &e), -EFBIG);
        /* one file's worth of one-byte list items is refused by count */
        buf_puts(&b, "a = [", NULL);
        while (b.len + 3 < HCL_MAX_FILE_SIZE)
                buf_puts(&b, "1,", NULL);
        buf_puts(&b, "]", NULL);
        assert_true(hcl_parse(&f, "t.tf", b.data, b.len, &e) < 0);
        assert_non_null(strstr(e.msg, "too many values"));
        assert_null(f);
        /* many distinct attributes stay fast (duplicate check is n log n) */
        buf_reset(&b);
        for (int i = 0; i < 50000; i++)
                buf_printf(&b, NULL, "a%d = %d\n", i, i);
        assert_int_equal(hcl_parse(&f, "t.tf", b.data, b.len, &e), 0);
        assert_int_equal(f->body.n_attrs, 50000);
        hcl_file_free(f);
        buf_free(&b);
        free(src);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(terraform_block_and_literals),
                cmocka_unit_test(scalars_and_lists),
                cmocka_unit_test(expressions_kept_as_text),
                cmocka_unit_test(heredocs),
                cmocka_unit_test(crlf_bom_and_comments_everywhere),
                cmocka_unit_test(malformed_inputs_name_the_position),
                cmocka_unit_test(depth_limit),
                cmocka_unit_test(size_and_node_limits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
