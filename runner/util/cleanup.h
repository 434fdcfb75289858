/* cleanup.h - scoped cleanup and explicit hand-over of ownership.
 *
 * Initialise every owned variable to NULL / -1 where it is declared; hand it
 * out with TAKE_PTR() / TAKE_FD(), which return the value and reset the
 * variable so the cleanup handler does nothing.  (systemd, crun, bubblewrap) */
#ifndef TFGATE_CLEANUP_H
#define TFGATE_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f != NULL)
                fclose(*f);
}

/* free a NULL-terminated array of strings and the array itself */
static inline void strv_free(char **v)
{
        if (v == NULL)
                return;
        for (char **p = v; *p != NULL; p++)
                free(*p);
        free(v);
}

static inline void strv_freep(char ***v)
{
        strv_free(*v);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define TAKE_PTR(p)                                                     \
        ({                                                              \
                __typeof__(p) *_pp = &(p);                              \
                __typeof__(p) _v = *_pp;                                \
                *_pp = NULL;                                            \
                _v;                                                     \
        })

#define TAKE_FD(fd)                                                     \
        ({                                                              \
                int *_pfd = &(fd);                                      \
                int _v = *_pfd;                                         \
                *_pfd = -1;                                             \
                _v;                                                     \
        })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
