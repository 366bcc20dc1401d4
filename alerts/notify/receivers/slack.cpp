#include "alerts/notify/receivers/slack.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>

#include "alerts/notify/receivers/http_poster.h"
#include "metrics/labels.h"

namespace cargomon::alerts::notify {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Slack Block Kit limits (api.slack.com/reference/block-kit).
constexpr std::size_t kMaxBlocks = 50;
constexpr std::size_t kMaxHeaderText = 150;
constexpr std::size_t kMaxSectionText = 3000;
constexpr std::size_t kMaxFieldText = 2000;

// UTF-8 safe: never cuts inside a multi-byte character.
std::string truncate(std::string_view text, std::size_t max) {
    if (text.size() <= max) return std::string(text);
    std::size_t cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return std::string(text.substr(0, cut)) + "...";
}

// Slack mrkdwn treats &, < and > as control characters.
std::string slack_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string format_value(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

void text_object(JsonWriter& w, std::string_view type, const std::string& text) {
    w.StartObject();
    w.Key("type");
    w.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
    w.Key("text");
    w.String(text);
    w.EndObject();
}

class SlackIntegration final : public Integration {
public:
    SlackIntegration(const config::SlackConfig& config, bool send_resolved)
        : Integration(send_resolved), config_(config), poster_(config.http) {}
    std::string_view kind() const override { return "slack"; }
    std::string render(const Notification& n, SystemTime) const override {
        return render_slack_body(n, config_.channel);
    }
    SendResult send(const std::string& body, const std::string& key, SystemTime) override {
        return poster_.post(body, {{"Idempotency-Key", key}});
    }
    void cancel() override { poster_.cancel(); }

private:
    config::SlackConfig config_;
    HttpPoster poster_;
};

void write_slack_alert(JsonWriter& w, const Alert& a, std::size_t& blocks) {
    std::string_view summary = metrics::label_value(a.annotations, "summary");
    if (summary.empty()) summary = metrics::label_value(a.annotations, "description");
    if (summary.empty()) summary = metrics::label_value(a.labels, "alertname");
    std::string_view workflow = metrics::label_value(a.labels, "workflow_name");
    if (workflow.empty()) workflow = metrics::label_value(a.labels, "workflow_uuid");
    std::string_view severity = metrics::label_value(a.labels, "severity");

    std::string headline = is_resolved(a) ? "*Resolved:* " : "*Firing:* ";
    headline += slack_escape(summary);
    w.StartObject();
    w.Key("type");
    w.String("section");
    w.Key("text");
    text_object(w, "mrkdwn", truncate(headline, kMaxSectionText));
    w.Key("fields");
    w.StartArray();
    auto field = [&](std::string_view name, std::string_view value) {
        if (value.empty()) return;
        text_object(w, "mrkdwn", truncate("*" + std::string(name) + "*\n" + slack_escape(value), kMaxFieldText));
    };
    field("Severity", severity.empty() ? "none" : severity);
    field("Workflow", workflow);
    field("Value", format_value(a.value));
    field("Alert", metrics::label_value(a.labels, "alertname"));
    // CargoBatchFinishedWithFailedRuns says where the runs failed and how to re-run them.
    field("Failed at node", metrics::label_value(a.annotations, "failed_node"));
    field("Top error", metrics::label_value(a.annotations, "top_error"));
    if (auto rerun = metrics::label_value(a.annotations, "rerun_command"); !rerun.empty())
        field("Re-run the failed records", "`" + std::string(rerun) + "`");
    w.EndArray();
    w.EndObject();
    ++blocks;

    std::string_view runbook = metrics::label_value(a.annotations, "runbook_url");
    if (!runbook.empty() && blocks < kMaxBlocks - 1) {
        w.StartObject();
        w.Key("type");
        w.String("actions");
        w.Key("elements");
        w.StartArray();
        w.StartObject();
        w.Key("type");
        w.String("button");
        w.Key("text");
        text_object(w, "plain_text", "Runbook");
        w.Key("url");
        w.String(std::string(runbook));
        w.EndObject();
        w.EndArray();
        w.EndObject();
        ++blocks;
    }
}

}  // namespace

std::unique_ptr<Integration> make_slack_integration(const config::SlackConfig& config, bool send_resolved) {
    return std::make_unique<SlackIntegration>(config, send_resolved);
}

std::string render_slack_body(const Notification& n, const std::string& channel) {
    const bool firing = any_firing(n);
    const std::size_t count = static_cast<std::size_t>(
        std::count_if(n.alerts.begin(), n.alerts.end(), [&](const Alert& a) { return is_resolved(a) != firing; }));
    std::string alertname(metrics::label_value(n.group_labels, "alertname"));
    if (alertname.empty() && !n.alerts.empty()) alertname = metrics::label_value(n.alerts.front().labels, "alertname");
    const std::string title =
        std::string(firing ? "FIRING" : "RESOLVED") + ": " + alertname + (count > 1 ? " (" + std::to_string(count) + ")" : "");

    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    if (!channel.empty()) {
        w.Key("channel");
        w.String(channel);
    }
    w.Key("text");  // the notification fallback, shown where blocks are not
    w.String(title);
    w.Key("blocks");
    w.StartArray();
    w.StartObject();
    w.Key("type");
    w.String("header");
    w.Key("text");
    text_object(w, "plain_text", truncate((firing ? "\xF0\x9F\x94\xA5 " : "\xE2\x9C\x85 ") + title, kMaxHeaderText));
    w.EndObject();
    std::size_t blocks = 1;
    std::size_t shown = 0;
    // Firing alerts first; one block is kept for the closing context.
    for (bool resolved_pass : {false, true}) {
        for (const Alert& a : n.alerts) {
            if (is_resolved(a) != resolved_pass) continue;
            if (blocks + 2 > kMaxBlocks) break;
            write_slack_alert(w, a, blocks);
            ++shown;
        }
    }
    std::string context = "cargomon";
    if (shown < n.alerts.size()) context += " | " + std::to_string(n.alerts.size() - shown) + " more not shown";
    if (!n.external_url.empty()) context += " | <" + n.external_url + "|open cargomon>";
    w.StartObject();
    w.Key("type");
    w.String("context");
    w.Key("elements");
    w.StartArray();
    text_object(w, "mrkdwn", truncate(context, kMaxFieldText));
    w.EndArray();
    w.EndObject();
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

}  // namespace cargomon::alerts::notify
