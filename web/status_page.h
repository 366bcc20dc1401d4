#pragma once
// The status page at `/`: what an operator glancing at cargomon during an incident wants
// first, rendered on the server from the same sources the JSON API reads (web/sources.h),
// so the alerts, the health and the silences read without JavaScript. Its script and
// style sheet are separate files compiled into the binary (web/static_assets.h,
// web/assets/): the script draws the charts from /api/v1/query_range and creates and
// expires silences through /api/v1/silences, the same origin and the same CSRF rules as
// any client (web/api_server.h). docs/operations.md says what each part shows.
//
// Every value from outside (labels, annotations, errors, silence comments, action
// reasons) is HTML-escaped, and URLs in free text lose their user info, query and
// fragment (a signed URL's signature, a token in a query): redact_urls().
#include <string>
#include <string_view>
#include <vector>

#include "alerts/notify/silences.h"
#include "common/clock.h"
#include "web/http_engine.h"
#include "web/sources.h"

namespace cargomon::web {

// An alert that fired in the last 24 hours (as far back as the sample history goes) and
// fires no more, from the history's ALERTS series.
struct ResolvedAlert {
    metrics::Labels labels;  // without __name__ and alertstate
    SystemTime last_firing;  // the last sample saying it fired
};

// Everything the page shows, read at one moment.
struct StatusPage {
    SystemTime now;
    DaemonStatus status;
    BuildInfo build;
    std::vector<alerts::notify::AlertGroup> groups;
    std::vector<ResolvedAlert> resolved;  // newest first
    struct ListedSilence {
        alerts::notify::Silence silence;
        alerts::notify::SilenceState state;
    };
    std::vector<ListedSilence> silences;  // unexpired first, each part by end time
    std::vector<actions::Action> actions;  // newest first
    std::vector<ActionBudget> budgets;
    bool admin_api = false;  // --web.enable-admin-api: the page may create and expire silences
    std::vector<HttpEngine::RouteInfo> routes;
};

// Reads what the page shows from `sources` (routes and admin_api left for the caller).
StatusPage read_status_page(const Sources& sources, SystemTime now);

// The whole HTML document.
std::string render_status_page(const StatusPage& page);

// The Content-Security-Policy the page is served with: scripts, styles and requests from
// this origin only, no inline script or style, no frames, no forms elsewhere.
inline constexpr std::string_view kStatusPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

// `text` with every http(s) URL cut to its scheme, host and path (user info, query and
// fragment dropped: where signed URLs carry their signature and tokens their value; a
// fragment that is a plain anchor, letters, digits, "-", "_", ".", is kept), and what
// follows "Bearer " hidden.
std::string redact_urls(std::string_view text);

std::string html_escape(std::string_view text);

}  // namespace cargomon::web
