#pragma once
// Every route of the daemon's HTTP API, registered in one place (web/routes.cpp), with
// who may call it, as Prometheus' web/api/v1 API.Register registers its own. The handlers
// read the domain through web/sources.h only.
#include "web/api_server.h"
#include "web/sources.h"

namespace cargomon::web {

// Adds every route to `server` (before its start()). `sources` must outlive the server's
// serving.
void register_routes(ApiServer& server, const Sources& sources);

}  // namespace cargomon::web
