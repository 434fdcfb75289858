/* hcl_internal.h - shared between the native (hcl.c) and JSON (json.c)
 * readers of this module; not part of the interface. */
#ifndef TFGATE_HCL_INTERNAL_H
#define TFGATE_HCL_INTERNAL_H

#include "hcl.h"

struct hcl_file *hcl_file_new(const char *name, const char *src, size_t len, bool json);
void hcl_value_free(struct hcl_value *v);
void hcl_body_free(struct hcl_body *b);
void *hcl_grow(void *arr, size_t n, size_t size);
int hcl_check_unique(const struct hcl_body *body, const char *name, struct err *err);

#endif
