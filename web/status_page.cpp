#include "web/status_page.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <string>

#include "common/duration.h"
#include "common/text.h"
#include "common/timefmt.h"
#include "metrics/labels.h"

namespace cargomon::web {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Bounds on what one page lists: the rest is one API call away, and a page an operator
// scrolls through during an incident is no use past this.
constexpr std::size_t kMaxResolved = 50;
constexpr std::size_t kMaxExpiredSilences = 20;
constexpr std::size_t kMaxActions = 50;
// Bytes of one value shown (a label, an annotation, an error).
constexpr std::size_t kMaxValue = 2048;

// A value from outside as the page shows it: printable, bounded, URLs redacted, escaped.
std::string text(std::string_view value, std::size_t max_bytes = kMaxValue) {
    return html_escape(redact_urls(printable(value, max_bytes)));
}

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// "3m 20s", "2h 5m", "4d 1h": the two largest units.
std::string span_text(seconds s) {
    long long total = std::llabs(s.count());
    const long long d = total / 86400, h = total % 86400 / 3600, m = total % 3600 / 60, sec = total % 60;
    auto part = [](long long n, const char* unit) { return std::to_string(n) + unit; };
    if (d > 0) return part(d, "d") + (h ? " " + part(h, "h") : "");
    if (h > 0) return part(h, "h") + (m ? " " + part(m, "m") : "");
    if (m > 0) return part(m, "m") + (sec ? " " + part(sec, "s") : "");
    return part(sec, "s");
}

// <time datetime="ISO">3m ago</time> (or "in 3m" for the future).
std::string when(SystemTime t, SystemTime now) {
    const auto diff = duration_cast<seconds>(now - t);
    const std::string iso = format_iso8601(t);
    std::string words = diff.count() >= 0 ? span_text(diff) + " ago" : "in " + span_text(diff);
    return "<time datetime=\"" + html_escape(iso) + "\" title=\"" + html_escape(iso) + "\">" + words + "</time>";
}

std::string labels_list(const metrics::Labels& labels, std::string_view skip = "") {
    std::string out = "<ul class=\"labels\">";
    for (const auto& [name, value] : labels) {
        if (name == skip) continue;
        out += "<li><span class=\"k\">" + text(name) + "</span>=<span class=\"v\">" + text(value) + "</span></li>";
    }
    return out + "</ul>";
}

std::string silence_state_name(alerts::notify::SilenceState s) {
    switch (s) {
        case alerts::notify::SilenceState::pending: return "pending";
        case alerts::notify::SilenceState::active: return "active";
        case alerts::notify::SilenceState::expired: return "expired";
    }
    return "expired";
}

std::string matchers_text(const std::vector<metrics::Matcher>& matchers) {
    std::string out;
    for (const auto& m : matchers) out += (out.empty() ? "" : ", ") + m.to_string();
    return out;
}

// What a silence made for this alert would match: its labels that say which alert it is
// (the alert's name and the group's labels), as the silence form reads them.
std::string silence_matchers_for(const alerts::Alert& alert, const metrics::Labels& group_labels) {
    metrics::Labels picked;
    for (const auto& kv : alert.labels)
        if (kv.first == "alertname" || metrics::find_label(group_labels, kv.first)) picked.push_back(kv);
    std::string out;
    for (const auto& [name, value] : picked) out += (out.empty() ? "" : ", ") + name + "=" + quoted(value);
    return out;
}

void render_header(std::string& html, const StatusPage& page) {
    std::size_t firing = 0, pending = 0, up = 0;
    std::set<std::string> counted;
    for (const auto& group : page.groups)
        for (const auto& alert : group.alerts) {
            if (!counted.insert(alert.fingerprint).second) continue;  // one alert in several groups
            (alert.state == alerts::AlertState::firing ? firing : pending)++;
        }
    for (const auto& c : page.status.collectors) up += c.up;
    const std::size_t collectors = page.status.collectors.size();

    html += "<header class=\"top\"><div class=\"brand\"><h1>cargomon</h1><span class=\"version\">" +
            text(page.build.version) + "</span></div>\n<ul class=\"summary\" aria-label=\"Summary\">";
    html += std::string("<li class=\"") + (firing ? "bad" : "good") + "\"><a href=\"#alerts\">" +
            std::to_string(firing) + " firing</a></li>";
    html += std::string("<li class=\"") + (pending ? "warn" : "good") + "\"><a href=\"#alerts\">" +
            std::to_string(pending) + " pending</a></li>";
    html += std::string("<li class=\"") + (up == collectors ? "good" : "bad") + "\"><a href=\"#health\">" +
            std::to_string(up) + "/" + std::to_string(collectors) + " collectors up</a></li>";
    html += std::string("<li class=\"") + (page.status.config_last_reload_successful ? "good" : "bad") +
            "\"><a href=\"#health\">config " + (page.status.config_last_reload_successful ? "loaded" : "reload failed") +
            "</a></li></ul>\n";
    html += "<nav aria-label=\"Sections\"><a href=\"#alerts\">Alerts</a> <a href=\"#health\">Health</a> "
            "<a href=\"#charts\">Charts</a> <a href=\"#silences\">Silences</a> <a href=\"#actions\">Actions</a> "
            "<a href=\"/metrics\">/metrics</a> <a href=\"#api\">API</a> "
            "<a href=\"https://github.com/cargomon/cargomon/blob/main/docs/operations.md\">Docs</a></nav></header>\n";
}

void render_alert(std::string& html, const StatusPage& page, const alerts::Alert& alert,
                  const metrics::Labels& group_labels) {
    const bool firing = alert.state == alerts::AlertState::firing;
    const std::string state = alerts::state_name(alert.state);
    html += "<li class=\"alert " + state + "\"><div class=\"alert-head\"><span class=\"badge " + state + "\">" + state +
            "</span> <strong>" + text(metrics::label_value(alert.labels, "alertname")) + "</strong> <span class=\"meta\">" +
            (firing ? "firing since " + when(alert.starts_at, page.now) : "pending since " + when(alert.active_at, page.now)) +
            ", value " + html_escape(number(alert.value)) + "</span></div>";
    html += labels_list(alert.labels, "alertname");
    if (!alert.annotations.empty()) {
        html += "<dl class=\"annotations\">";
        for (const auto& [name, value] : alert.annotations)
            html += "<dt>" + text(name) + "</dt><dd>" + text(value) + "</dd>";
        html += "</dl>";
    }
    std::string silenced_by;
    for (const auto& listed : page.silences) {
        if (listed.state != alerts::notify::SilenceState::active) continue;
        if (!metrics::matches_all(listed.silence.matchers, alert.labels)) continue;
        silenced_by += std::string(silenced_by.empty() ? "" : ", ") + "<a href=\"#silence-" + text(listed.silence.id) +
                       "\">" + text(listed.silence.id.substr(0, 8)) + "</a>";
    }
    if (!silenced_by.empty()) html += "<p class=\"silenced\">Silenced by " + silenced_by + "</p>";
    else if (page.admin_api)
        html += "<p><button type=\"button\" class=\"silence-alert\" data-matchers=\"" +
                html_escape(silence_matchers_for(alert, group_labels)) + "\">Silence…</button></p>";
    html += "</li>\n";
}

// Under the charts and the resolved list: what the history keeps, when that is less than
// the 24 h they offer (by default it is what the rules need, often about an hour).
std::string retention_note(const StatusPage& page) {
    const Millis retention = page.status.history_retention;
    if (retention.count() <= 0 || retention >= std::chrono::hours{24}) return "";
    return "<p class=\"note\">The sample history keeps " + format_duration(retention) +
           " (what the rules need; <code>--storage.history.retention=24h</code> keeps a day): older points "
           "and alerts resolved before that are not shown.</p>\n";
}

void render_alerts(std::string& html, const StatusPage& page) {
    html += "<section id=\"alerts\" aria-labelledby=\"alerts-h\"><h2 id=\"alerts-h\">Alerts</h2>\n";
    if (page.groups.empty()) html += "<p class=\"empty\">No alert is pending or firing.</p>\n";
    for (const auto& group : page.groups) {
        html += "<article class=\"group\"><h3>" +
                (group.labels.empty() ? std::string("All alerts") : text(metrics::labels_text(group.labels), 4 * kMaxValue)) +
                "</h3><p class=\"meta\">" + std::to_string(group.alerts.size()) +
                (group.alerts.size() == 1 ? " alert" : " alerts") + ", notifying " +
                (group.receiver.empty() ? std::string("no receiver") : "receiver " + text(group.receiver)) +
                "</p>\n<ul class=\"alerts\">";
        for (const auto& alert : group.alerts) render_alert(html, page, alert, group.labels);
        html += "</ul></article>\n";
    }
    html += "<h3>Resolved in the last 24 h</h3>\n" + retention_note(page);
    if (page.resolved.empty()) {
        html += "<p class=\"empty\">None (as far back as the sample history goes).</p>\n";
    } else {
        html += "<ul class=\"resolved\">";
        for (std::size_t i = 0; i < page.resolved.size() && i < kMaxResolved; ++i) {
            const auto& r = page.resolved[i];
            html += "<li><strong>" + text(metrics::label_value(r.labels, "alertname")) +
                    "</strong> <span class=\"meta\">last firing " + when(r.last_firing, page.now) + "</span>" +
                    labels_list(r.labels, "alertname") + "</li>\n";
        }
        html += "</ul>\n";
    }
    html += "</section>\n";
}

void render_health(std::string& html, const StatusPage& page) {
    const DaemonStatus& s = page.status;
    html += "<section id=\"health\" aria-labelledby=\"health-h\"><h2 id=\"health-h\">Health</h2>\n<ul class=\"facts\">";
    html += std::string("<li>") + (s.ready ? "Ready: the workspace was discovered" : "Not ready: the workspace's first discovery has not succeeded yet") +
            "</li>";
    html += "<li>" + std::to_string(s.series) + " series published</li>";
    html += "<li>Config <code>" + text(s.config_file) + "</code>: " +
            (s.config_last_reload_successful
                 ? std::string("loaded") +
                       (s.config_last_reload_success ? " " + when(*s.config_last_reload_success, page.now) : "")
                 : std::string("<strong class=\"bad\">the last reload failed</strong>; the config loaded ") +
                       (s.config_last_reload_success ? when(*s.config_last_reload_success, page.now) : "before") +
                       " runs on (the log says why)") +
            "</li>";
    if (!s.state_database.empty()) {
        html += "<li>State database <code>" + text(s.state_database) + "</code>";
        if (s.state_database_moved_aside.empty()) html += ": in use";
        else {
            html += ": <strong class=\"bad\">unusable files were moved aside at start</strong> (";
            for (std::size_t i = 0; i < s.state_database_moved_aside.size(); ++i)
                html += (i ? ", " : "") + std::string("<code>") + text(s.state_database_moved_aside[i]) + "</code>";
            html += ")";
        }
        html += "</li>";
    }
    html += "</ul>\n";
    if (s.collectors.empty()) {
        html += "<p class=\"empty\">No collector is configured.</p>\n</section>\n";
        return;
    }
    html += "<div class=\"table-wrap\"><table class=\"collectors\"><thead><tr><th scope=\"col\">Collector</th>"
            "<th scope=\"col\">Kind</th><th scope=\"col\">State</th><th scope=\"col\">Last run</th>"
            "<th scope=\"col\">Duration</th><th scope=\"col\">Next run</th><th scope=\"col\">Series</th>"
            "<th scope=\"col\">Last error</th></tr></thead><tbody>\n";
    for (const auto& c : s.collectors) {
        const std::string state = c.running ? "running" : c.up ? "up" : c.last_run_start ? "down" : "waiting";
        const std::string css = c.up ? "good" : c.last_run_start ? "bad" : "warn";
        char duration[32];
        std::snprintf(duration, sizeof duration, "%.2f s", c.last_duration_seconds);
        html += "<tr><th scope=\"row\">" + text(c.name) + "</th><td>" + text(c.kind) + "</td><td><span class=\"badge " +
                css + "\">" + state + "</span></td><td>" +
                (c.last_run_start ? when(*c.last_run_start, page.now) : std::string("never")) + "</td><td>" +
                (c.last_run_start ? std::string(duration) : std::string("–")) + "</td><td>" + when(c.next_run, page.now) +
                "</td><td>" + std::to_string(c.series) + "</td><td class=\"error\">" +
                (c.last_error.empty() ? std::string("–") : text(c.last_error)) + "</td></tr>\n";
    }
    html += "</tbody></table></div>\n</section>\n";
}

void render_charts(std::string& html, const StatusPage& page) {
    html += "<section id=\"charts\" aria-labelledby=\"charts-h\"><h2 id=\"charts-h\">Charts</h2>\n"
            "<div class=\"ranges\" role=\"group\" aria-label=\"Time range\">"
            "<button type=\"button\" data-range=\"3600\" aria-pressed=\"true\">1h</button>"
            "<button type=\"button\" data-range=\"21600\" aria-pressed=\"false\">6h</button>"
            "<button type=\"button\" data-range=\"86400\" aria-pressed=\"false\">24h</button></div>\n" +
            retention_note(page) +
            "<noscript><p class=\"note\">The charts are drawn by the page's script from <code>/api/v1/query_range</code>; "
            "the rest of the page reads without it.</p></noscript>\n<div class=\"charts\">"
            "<figure class=\"chart\" data-chart=\"errors\"><figcaption>Error ratio per workflow</figcaption></figure>"
            "<figure class=\"chart\" data-chart=\"credits\"><figcaption>Credits left, with the exhaustion forecast</figcaption></figure>"
            "<figure class=\"chart\" data-chart=\"runs\"><figcaption>Runs per status</figcaption></figure>"
            "</div>\n</section>\n";
}

void render_silences(std::string& html, const StatusPage& page) {
    html += "<section id=\"silences\" aria-labelledby=\"silences-h\"><h2 id=\"silences-h\">Silences</h2>\n";
    if (page.admin_api) {
        html += "<form id=\"silence-form\" class=\"silence-form\"><fieldset><legend>New silence</legend>"
                "<label>Matchers <input name=\"matchers\" required placeholder='alertname=\"CargoBatchStuck\", workflow_name=~\"Enrich.*\"' "
                "autocomplete=\"off\"></label>"
                "<label>For <select name=\"duration\"><option value=\"3600\">1 hour</option><option value=\"7200\" selected>2 hours</option>"
                "<option value=\"14400\">4 hours</option><option value=\"86400\">1 day</option><option value=\"604800\">1 week</option></select></label>"
                "<label>Created by <input name=\"createdBy\" required maxlength=\"256\" autocomplete=\"username\"></label>"
                "<label>Comment <input name=\"comment\" required maxlength=\"4096\"></label>"
                "<button type=\"submit\">Create</button></fieldset>"
                "<p class=\"result\" role=\"status\" aria-live=\"polite\"></p>"
                "<noscript><p class=\"note\">Creating and expiring silences here needs JavaScript; "
                "<code>cargomon silence</code> does it from a shell.</p></noscript></form>\n";
    } else {
        html += "<p class=\"note\">Read-only: creating and expiring silences needs cargomon started with "
                "<code>--web.enable-admin-api</code> (docs/security.md); <code>cargomon silence</code> uses the same API.</p>\n";
    }
    std::size_t expired = 0;
    bool any = false;
    std::string rows;
    for (const auto& listed : page.silences) {
        const bool is_expired = listed.state == alerts::notify::SilenceState::expired;
        if (is_expired && ++expired > kMaxExpiredSilences) continue;
        any = true;
        const auto& s = listed.silence;
        const std::string state = silence_state_name(listed.state);
        rows += "<tr id=\"silence-" + text(s.id) + "\"><td><span class=\"badge " + state + "\">" + state + "</span></td><td><code>" +
                text(matchers_text(s.matchers), 4 * kMaxValue) + "</code></td><td>" + when(s.starts_at, page.now) + "</td><td>" +
                when(s.ends_at, page.now) + "</td><td>" + text(s.created_by) + "</td><td>" + text(s.comment) + "</td><td>";
        if (page.admin_api && !is_expired)
            rows += "<button type=\"button\" class=\"expire\" data-id=\"" + text(s.id) + "\">Expire</button>";
        rows += "</td></tr>\n";
    }
    if (!any) {
        html += "<p class=\"empty\">No silence.</p>\n</section>\n";
        return;
    }
    html += "<div class=\"table-wrap\"><table class=\"silences\"><thead><tr><th scope=\"col\">State</th>"
            "<th scope=\"col\">Matchers</th><th scope=\"col\">Starts</th><th scope=\"col\">Ends</th>"
            "<th scope=\"col\">Created by</th><th scope=\"col\">Comment</th><th scope=\"col\"><span class=\"sr\">Actions</span></th>"
            "</tr></thead><tbody>\n" +
            rows + "</tbody></table></div>\n</section>\n";
}

void render_actions(std::string& html, const StatusPage& page) {
    html += "<section id=\"actions\" aria-labelledby=\"actions-h\"><h2 id=\"actions-h\">Actions</h2>\n";
    // What each rule spent today (UTC), as the engine counts it: rows that count for the
    // budget, of the rule's mode.
    const SystemTime day = std::chrono::floor<std::chrono::days>(page.now);
    if (!page.status.actions_enabled)
        html += "<p class=\"note\">This replica takes no action (<code>--actions.enabled=false</code>: a standby); "
                "the list below is what this state database holds.</p>\n";
    if (page.budgets.empty()) {
        html += "<p class=\"empty\">No automatic action is configured (the config's <code>actions:</code> has no rule).</p>\n";
    } else {
        html += "<div class=\"table-wrap\"><table class=\"budgets\"><caption>Budgets today (UTC)</caption><thead><tr>"
                "<th scope=\"col\">Rule</th><th scope=\"col\">Mode</th><th scope=\"col\">Re-runs of the busiest workflow</th>"
                "<th scope=\"col\">Credits (estimated)</th></tr></thead><tbody>\n";
        for (const auto& b : page.budgets) {
            std::map<std::string, int> reruns;  // by workflow
            double credits = 0;
            for (const auto& a : page.actions) {
                if (a.rule != b.rule || a.mode != b.mode || a.decided_at < day || !a.counts_for_budget()) continue;
                ++reruns[a.workflow_uuid];
                credits += a.estimated_credits;
            }
            int busiest = 0;
            for (const auto& [_, n] : reruns) busiest = std::max(busiest, n);
            html += "<tr><th scope=\"row\">" + text(b.rule) + "</th><td>" + text(b.mode) + "</td><td>" + std::to_string(busiest) +
                    " of " + std::to_string(b.max_reruns_per_day_per_workflow) + "</td><td>" + html_escape(number(credits)) +
                    " of " + html_escape(number(b.max_credits_per_day)) + "</td></tr>\n";
        }
        html += "</tbody></table></div>\n";
    }
    if (page.actions.empty()) {
        html += "<p class=\"empty\">No automatic re-run was decided yet.</p>\n</section>\n";
        return;
    }
    html += "<div class=\"table-wrap\"><table class=\"actions\"><caption>Automatic re-runs, newest first</caption><thead><tr>"
            "<th scope=\"col\">Decided</th><th scope=\"col\">Rule</th><th scope=\"col\">Workflow</th><th scope=\"col\">Batch</th>"
            "<th scope=\"col\">Runs</th><th scope=\"col\">Result</th><th scope=\"col\">Re-run</th><th scope=\"col\">Outcome</th>"
            "<th scope=\"col\">Reason</th></tr></thead><tbody>\n";
    for (std::size_t i = 0; i < page.actions.size() && i < kMaxActions; ++i) {
        const auto& a = page.actions[i];
        std::string outcome = a.outcome.empty() ? std::string("–") : text(a.outcome);
        if (!a.outcome.empty())
            outcome += " (" + std::to_string(a.recovered) + " recovered, " + std::to_string(a.still_failing) + " still failing)";
        html += "<tr><td>" + when(a.decided_at, page.now) + "</td><td>" + text(a.rule) + "</td><td>" +
                text(a.workflow_name.empty() ? a.workflow_uuid : a.workflow_name) + "</td><td><code>" + text(a.batch_uuid) +
                "</code></td><td>" + std::to_string(a.records) + "</td><td>" + text(a.result.empty() ? a.state : a.result) +
                (a.mode == "dry_run" ? " (dry run)" : "") + "</td><td><code>" +
                (a.created_batch_uuid.empty() ? std::string("–") : text(a.created_batch_uuid)) + "</code></td><td>" + outcome +
                "</td><td>" + (a.reason.empty() ? std::string("–") : text(a.reason)) + "</td></tr>\n";
    }
    html += "</tbody></table></div>\n</section>\n";
}

void render_footer(std::string& html, const StatusPage& page) {
    html += "<footer id=\"api\"><h2>API and build</h2><p>cargomon " + text(page.build.version);
    if (!page.build.revision.empty()) html += ", revision " + text(page.build.revision);
    if (!page.build.build_date.empty()) html += ", built " + text(page.build.build_date);
    if (!page.build.compiler.empty()) html += " with " + text(page.build.compiler);
    html += ". <a href=\"/metrics\">/metrics</a> · <a href=\"https://github.com/cargomon/cargomon/blob/main/docs/api.md\">API docs</a>"
            " · <a href=\"https://github.com/cargomon/cargomon/blob/main/docs/operations.md\">operations</a></p>\n"
            "<details><summary>Every route</summary><ul class=\"routes\">";
    for (const auto& route : page.routes) {
        if (route.pattern == "/" || route.pattern.rfind("/static/", 0) == 0) continue;
        const std::string path = html_escape(route.pattern);
        html += route.method == "GET" && route.pattern.find(':') == std::string::npos
                    ? "<li><a href=\"" + path + "\">" + path + "</a></li>"
                    : "<li>" + html_escape(route.method) + " " + path + "</li>";
    }
    html += "</ul></details></footer>\n";
}

}  // namespace

std::string html_escape(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string redact_urls(std::string_view value) {
    std::string out;
    std::size_t i = 0;
    auto starts = [&](std::size_t at, std::string_view prefix) {
        if (value.size() - at < prefix.size()) return false;
        for (std::size_t k = 0; k < prefix.size(); ++k)
            if (std::tolower(static_cast<unsigned char>(value[at + k])) != prefix[k]) return false;
        return true;
    };
    // Where a URL or a token ends: white space, quotes, angle brackets, a closing parenthesis.
    auto end_of_token = [&](std::size_t at) {
        while (at < value.size() && !std::isspace(static_cast<unsigned char>(value[at])) &&
               std::string_view("\"'<>)").find(value[at]) == std::string_view::npos)
            ++at;
        return at;
    };
    while (i < value.size()) {
        const std::size_t scheme = starts(i, "https://") ? 8 : starts(i, "http://") ? 7 : 0;
        if (scheme) {
            const std::size_t end = end_of_token(i);
            std::string_view url = value.substr(i, end - i);
            std::string_view rest = url.substr(scheme);
            const std::size_t path_at = rest.find_first_of("/?#");
            std::string_view authority = rest.substr(0, path_at);
            if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
            std::string_view path = path_at == std::string_view::npos ? "" : rest.substr(path_at);
            std::size_t cut = path.find_first_of("?#");
            // A plain anchor (docs/alerting.md#cargobatchstuck) carries nothing secret: kept.
            if (cut != std::string_view::npos && path[cut] == '#' && cut + 1 < path.size() &&
                path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", cut + 1) ==
                    std::string_view::npos)
                cut = std::string_view::npos;
            const bool cut_something = cut != std::string_view::npos || authority.size() != rest.substr(0, path_at).size();
            out += url.substr(0, scheme);
            out += authority;
            out += path.substr(0, cut);
            if (cut_something) out += "?…";
            i = end;
            continue;
        }
        if (starts(i, "bearer ")) {
            out += value.substr(i, 7);
            const std::size_t end = end_of_token(i + 7);
            if (end > i + 7) out += "…";
            i = end;
            continue;
        }
        out += value[i++];
    }
    return out;
}

StatusPage read_status_page(const Sources& sources, SystemTime now) {
    StatusPage page{.now = now, .status = sources.status.status(), .build = sources.query.build_info()};
    page.groups = sources.alerts.alert_groups();

    // Resolved: ALERTS series that said firing in the last 24 h, for an alert not active now.
    std::set<metrics::Labels> active;
    for (const auto& group : page.groups)
        for (const auto& alert : group.alerts) active.insert(alert.labels);
    const auto now_ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
    std::vector<metrics::Matcher> matchers;
    for (auto [name, value] : {std::pair{"__name__", "ALERTS"}, std::pair{"alertstate", "firing"}})
        matchers.push_back(std::get<metrics::Matcher>(metrics::make_matcher(name, metrics::Matcher::Op::equal, value)));
    std::map<metrics::Labels, std::int64_t> last;
    sources.query.history().select(
        matchers, now_ms - 24LL * 3600 * 1000, now_ms,
        [&](std::string_view, const metrics::Labels& labels, std::span<const alerts::promql::Sample> samples) {
            metrics::Labels alert;
            for (const auto& kv : labels)
                if (kv.first != "__name__" && kv.first != "alertstate" && !kv.second.empty()) alert.push_back(kv);
            if (active.contains(alert)) return;
            for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
                if (metrics::is_stale_nan(it->v)) continue;
                auto& t = last[alert];
                t = std::max(t, it->t);
                break;
            }
        });
    for (auto& [labels, t] : last) page.resolved.push_back({labels, SystemTime{milliseconds{t}}});
    std::sort(page.resolved.begin(), page.resolved.end(),
              [](const auto& a, const auto& b) { return a.last_firing > b.last_firing; });
    if (page.resolved.size() > kMaxResolved) page.resolved.resize(kMaxResolved);

    for (auto& s : sources.silences.list()) {
        auto state = sources.silences.state(s);
        page.silences.push_back({std::move(s), state});
    }
    std::stable_sort(page.silences.begin(), page.silences.end(), [](const auto& a, const auto& b) {
        const bool a_expired = a.state == alerts::notify::SilenceState::expired;
        const bool b_expired = b.state == alerts::notify::SilenceState::expired;
        if (a_expired != b_expired) return b_expired;
        // Unexpired: the one ending first first; expired: the latest to end first.
        return a_expired ? a.silence.ends_at > b.silence.ends_at : a.silence.ends_at < b.silence.ends_at;
    });
    page.actions = sources.actions.recent_actions();
    page.budgets = sources.actions.action_budgets();
    return page;
}

std::string render_status_page(const StatusPage& page) {
    std::string html;
    html.reserve(32 * 1024);
    std::size_t firing = 0;
    for (const auto& group : page.groups)
        for (const auto& alert : group.alerts) firing += alert.state == alerts::AlertState::firing;
    html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"color-scheme\" content=\"light dark\"><title>";
    html += firing ? "(" + std::to_string(firing) + " firing) cargomon" : std::string("cargomon");
    html += "</title><link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"
            "<link rel=\"stylesheet\" href=\"/static/status.css\"><script src=\"/static/status.js\" defer></script>"
            "</head>\n<body>\n";
    render_header(html, page);
    html += "<main>\n";
    render_alerts(html, page);
    render_health(html, page);
    render_charts(html, page);
    render_silences(html, page);
    render_actions(html, page);
    html += "</main>\n";
    render_footer(html, page);
    html += "</body></html>\n";
    return html;
}

}  // namespace cargomon::web
