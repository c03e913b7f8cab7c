#ifndef HOOKHOST_CCURL_SHIM_H
#define HOOKHOST_CCURL_SHIM_H
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

// libcurl is opened on first use, not linked: with it come some twenty libraries (gnutls, krb5,
// ldap, ssh2, …) whose pages the dynamic loader touches at start, ~4 MB of RSS for a host that
// may never download anything. Everything below goes through this table.
struct hh_curl_api {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
};

// Loads libcurl once per process (thread-safe) and runs curl_global_init; NULL if it cannot be
// loaded, and hh_curl_load_error() then says why. Defined in Sources/CCurlLoader/loader.c, not
// here: a `static inline` function's static state is copied into every Swift file that calls it,
// which loaded libcurl and ran curl_global_init once per file.
const struct hh_curl_api *hh_curl_api_state(int load, const char **error);
static inline const struct hh_curl_api *hh_curl(void) { return hh_curl_api_state(1, NULL); }
static inline int hh_curl_available(void) { return hh_curl() != NULL; }
static inline const char *hh_curl_load_error(void) { const char *e; hh_curl_api_state(1, &e); return e; }
// Whether libcurl has been loaded (for tests and `hookhost` diagnostics; does not load it).
static inline int hh_curl_loaded(void) { return hh_curl_api_state(0, NULL) != NULL; }

static inline CURL *hh_curl_easy_init(void) { const struct hh_curl_api *a = hh_curl(); return a ? a->easy_init() : NULL; }
// The functions below take a handle, which only exists once libcurl is loaded.
static inline void hh_curl_easy_cleanup(CURL *c) { hh_curl()->easy_cleanup(c); }
static inline CURLcode hh_curl_easy_perform(CURL *c) { return hh_curl()->easy_perform(c); }
static inline const char *hh_curl_easy_strerror(CURLcode code) { return hh_curl()->easy_strerror(code); }
static inline struct curl_slist *hh_curl_slist_append(struct curl_slist *l, const char *s) { return hh_curl()->slist_append(l, s); }
static inline void hh_curl_slist_free_all(struct curl_slist *l) { if (l) hh_curl()->slist_free_all(l); }

// curl_easy_setopt/getinfo are variadic, which Swift cannot call: one wrapper per argument type.
static inline CURLcode hh_curl_setopt_long(CURL *c, CURLoption o, long v) { return hh_curl()->easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_str(CURL *c, CURLoption o, const char *v) { return hh_curl()->easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_ptr(CURL *c, CURLoption o, void *v) { return hh_curl()->easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_slist(CURL *c, CURLoption o, struct curl_slist *v) { return hh_curl()->easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_off(CURL *c, CURLoption o, curl_off_t v) { return hh_curl()->easy_setopt(c, o, v); }
typedef size_t (*hh_curl_write_cb)(char *, size_t, size_t, void *);
static inline CURLcode hh_curl_setopt_writefn(CURL *c, hh_curl_write_cb f) { return hh_curl()->easy_setopt(c, CURLOPT_WRITEFUNCTION, f); }
static inline CURLcode hh_curl_setopt_headerfn(CURL *c, hh_curl_write_cb f) { return hh_curl()->easy_setopt(c, CURLOPT_HEADERFUNCTION, f); }
typedef int (*hh_curl_xferinfo_cb)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
static inline CURLcode hh_curl_setopt_xferinfofn(CURL *c, hh_curl_xferinfo_cb f) { return hh_curl()->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, f); }
static inline CURLcode hh_curl_getinfo_long(CURL *c, CURLINFO i, long *v) { return hh_curl()->easy_getinfo(c, i, v); }
static inline CURLcode hh_curl_getinfo_str(CURL *c, CURLINFO i, char **v) { return hh_curl()->easy_getinfo(c, i, v); }
#endif
