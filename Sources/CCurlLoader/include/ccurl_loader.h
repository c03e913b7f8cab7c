// Nothing to import: this target only defines hh_curl_api_state, declared in Sources/CCurl/shim.h.
#ifndef HOOKHOST_CCURL_LOADER_H
#define HOOKHOST_CCURL_LOADER_H
#endif
