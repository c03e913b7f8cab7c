#ifndef HOOKHOST_CCURL_SHIM_H
#define HOOKHOST_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt/getinfo are variadic, which Swift cannot call: one wrapper per argument type.
static inline CURLcode hh_curl_setopt_long(CURL *c, CURLoption o, long v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_str(CURL *c, CURLoption o, const char *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_ptr(CURL *c, CURLoption o, void *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_slist(CURL *c, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode hh_curl_setopt_off(CURL *c, CURLoption o, curl_off_t v) { return curl_easy_setopt(c, o, v); }
typedef size_t (*hh_curl_write_cb)(char *, size_t, size_t, void *);
static inline CURLcode hh_curl_setopt_writefn(CURL *c, hh_curl_write_cb f) { return curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, f); }
static inline CURLcode hh_curl_setopt_headerfn(CURL *c, hh_curl_write_cb f) { return curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, f); }
static inline CURLcode hh_curl_getinfo_long(CURL *c, CURLINFO i, long *v) { return curl_easy_getinfo(c, i, v); }
static inline CURLcode hh_curl_getinfo_str(CURL *c, CURLINFO i, char **v) { return curl_easy_getinfo(c, i, v); }
#endif
