// The one definition of shim.h's libcurl loader (see there).
#include "../CCurl/shim.h"

// Loads libcurl once (thread-safe) and runs curl_global_init; NULL if it cannot be loaded, and
// hh_curl_load_error() then says why.
const struct hh_curl_api *hh_curl_api_state(int load, const char **error) {
    static struct hh_curl_api api;
    static _Atomic int state;  // 0 not tried, 1 loaded, 2 failed
    static char why[256];
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (load && atomic_load_explicit(&state, memory_order_acquire) == 0) {
        pthread_mutex_lock(&lock);
        if (atomic_load_explicit(&state, memory_order_relaxed) == 0) {
            void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
            int ok = h != NULL;
            if (ok) {
                *(void **)&api.global_init = dlsym(h, "curl_global_init");
                *(void **)&api.easy_init = dlsym(h, "curl_easy_init");
                *(void **)&api.easy_cleanup = dlsym(h, "curl_easy_cleanup");
                *(void **)&api.easy_setopt = dlsym(h, "curl_easy_setopt");
                *(void **)&api.easy_getinfo = dlsym(h, "curl_easy_getinfo");
                *(void **)&api.easy_perform = dlsym(h, "curl_easy_perform");
                *(void **)&api.easy_strerror = dlsym(h, "curl_easy_strerror");
                *(void **)&api.slist_append = dlsym(h, "curl_slist_append");
                *(void **)&api.slist_free_all = dlsym(h, "curl_slist_free_all");
                ok = api.global_init && api.easy_init && api.easy_cleanup && api.easy_setopt && api.easy_getinfo
                     && api.easy_perform && api.easy_strerror && api.slist_append && api.slist_free_all;
                if (!ok) snprintf(why, sizeof why, "libcurl.so.4 lacks a function hookhost needs");
                else if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                    ok = 0;
                    snprintf(why, sizeof why, "curl_global_init failed");
                }
            } else {
                const char *e = dlerror();
                snprintf(why, sizeof why, "%s", e ? e : "dlopen(libcurl.so.4) failed");
            }
            atomic_store_explicit(&state, ok ? 1 : 2, memory_order_release);
        }
        pthread_mutex_unlock(&lock);
    }
    if (error) *error = why;
    return atomic_load_explicit(&state, memory_order_acquire) == 1 ? &api : NULL;
}
