#include "alerts/notify/receivers.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "common/timefmt.h"

namespace cargomon::alerts::notify {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Alertmanager writes Go's zero time for an alert that has not ended.
constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

// Slack Block Kit limits (api.slack.com/reference/block-kit).
constexpr std::size_t kMaxBlocks = 50;
constexpr std::size_t kMaxHeaderText = 150;
constexpr std::size_t kMaxSectionText = 3000;
constexpr std::size_t kMaxFieldText = 2000;

// Pairs present with the same value in every set (Alertmanager's commonLabels).
metrics::Labels common_pairs(const std::vector<const metrics::Labels*>& sets) {
    if (sets.empty()) return {};
    metrics::Labels common = *sets.front();
    for (std::size_t i = 1; i < sets.size(); ++i) {
        std::erase_if(common, [&](const auto& kv) {
            return std::find(sets[i]->begin(), sets[i]->end(), kv) == sets[i]->end();
        });
    }
    return common;
}

bool any_firing(const Notification& n) {
    return std::any_of(n.alerts.begin(), n.alerts.end(), [](const Alert& a) { return !is_resolved(a); });
}

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

struct ParsedUrl {
    std::string origin;  // scheme://host[:port]
    std::string path;
};

ParsedUrl split_url(const std::string& url) {
    std::size_t scheme_end = url.find("://");
    std::size_t path_start = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
    if (path_start == std::string::npos) return {url, ""};
    return {url.substr(0, path_start), url.substr(path_start)};
}

// Posts bodies to one URL over a kept-alive connection. One delivery worker posts;
// cancel() may come from any thread (httplib::Client::stop shuts the socket down).
class HttpPoster {
public:
    explicit HttpPoster(const HttpOptions& options, std::string path_suffix = "")
        : options_(options), url_(split_url(options.url)) {
        url_.path += path_suffix;
        if (url_.path.empty()) url_.path = "/";
        client_ = std::make_unique<httplib::Client>(url_.origin);
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
        auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - secs);
        client_->set_connection_timeout(secs.count(), usecs.count());
        client_->set_read_timeout(secs.count(), usecs.count());
        client_->set_write_timeout(secs.count(), usecs.count());
        client_->set_keep_alive(true);
        // Headers and body go out as separate writes; Nagle would hold the body ~40 ms.
        client_->set_tcp_nodelay(true);
        if (!options.bearer_token.empty()) client_->set_bearer_token_auth(options.bearer_token);
        if (options.basic_auth) client_->set_basic_auth(options.basic_auth->username, options.basic_auth->password);
    }

    SendResult post(const std::string& body, httplib::Headers headers) {
        for (const auto& [k, v] : options_.headers) headers.emplace(k, v);
        httplib::Result res = client_->Post(url_.path, headers, body, "application/json");
        if (!res) return {SendResult::Outcome::retry, "request failed: " + httplib::to_string(res.error())};
        const int status = res->status;
        if (status >= 200 && status < 300) return {SendResult::Outcome::delivered, {}};
        std::string error = "HTTP " + std::to_string(status);
        if (status == 429 || status >= 500) return {SendResult::Outcome::retry, error};
        return {SendResult::Outcome::failed, error};
    }

    // A request in flight fails at once; one not yet started is not prevented (the caller
    // checks for stop between requests and cancels again until its worker is done). A
    // connect in progress finishes first, within the connection timeout.
    void cancel() { client_->stop(); }

private:
    HttpOptions options_;
    ParsedUrl url_;
    std::unique_ptr<httplib::Client> client_;
};

class WebhookIntegration final : public Integration {
public:
    WebhookIntegration(const WebhookConfig& config, bool send_resolved)
        : Integration(send_resolved), config_(config), poster_(config.http) {}
    std::string_view kind() const override { return "webhook"; }
    std::string render(const Notification& n, SystemTime) const override {
        return render_webhook_body(n, config_.max_alerts);
    }
    SendResult send(const std::string& body, const std::string& key, SystemTime now) override {
        httplib::Headers headers{{"Idempotency-Key", key}};
        if (!config_.hmac_secret.empty()) {
            long long t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
            headers.emplace("X-Cargomon-Signature", webhook_signature(config_.hmac_secret, t, body));
        }
        return poster_.post(body, std::move(headers));
    }
    void cancel() override { poster_.cancel(); }

private:
    WebhookConfig config_;
    HttpPoster poster_;
};

class SlackIntegration final : public Integration {
public:
    SlackIntegration(const SlackConfig& config, bool send_resolved)
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
    SlackConfig config_;
    HttpPoster poster_;
};

class AlertmanagerIntegration final : public Integration {
public:
    AlertmanagerIntegration(const AlertmanagerConfig& config, bool send_resolved)
        : Integration(send_resolved), poster_(config.http, "/api/v2/alerts") {}
    std::string_view kind() const override { return "alertmanager"; }
    std::string render(const Notification& n, SystemTime now) const override {
        return render_alertmanager_body(n, now);
    }
    SendResult send(const std::string& body, const std::string& key, SystemTime) override {
        return poster_.post(body, {{"Idempotency-Key", key}});
    }
    void cancel() override { poster_.cancel(); }
    bool resend_while_firing() const override { return true; }

private:
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

void write_labels(rapidjson::Writer<rapidjson::StringBuffer>& w, const metrics::Labels& labels) {
    w.StartObject();
    for (const auto& [k, v] : labels) {
        w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
        w.String(v);
    }
    w.EndObject();
}

bool is_resolved(const Alert& alert) { return alert.ends_at.has_value(); }

std::string render_webhook_body(const Notification& n, std::size_t max_alerts) {
    std::vector<const metrics::Labels*> labels, annotations;
    for (const Alert& a : n.alerts) {
        labels.push_back(&a.labels);
        annotations.push_back(&a.annotations);
    }
    const std::size_t shown = max_alerts == 0 ? n.alerts.size() : std::min(max_alerts, n.alerts.size());

    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("receiver");
    w.String(n.receiver);
    w.Key("status");
    w.String(any_firing(n) ? "firing" : "resolved");
    w.Key("alerts");
    w.StartArray();
    for (std::size_t i = 0; i < shown; ++i) {
        const Alert& a = n.alerts[i];
        w.StartObject();
        w.Key("status");
        w.String(is_resolved(a) ? "resolved" : "firing");
        w.Key("labels");
        write_labels(w, a.labels);
        w.Key("annotations");
        write_labels(w, a.annotations);
        w.Key("startsAt");
        w.String(format_iso8601(a.starts_at));
        w.Key("endsAt");
        w.String(is_resolved(a) ? format_iso8601(*a.ends_at) : std::string(kZeroTime));
        w.Key("generatorURL");
        w.String(a.generator_url);
        w.Key("fingerprint");
        w.String(a.fingerprint);
        w.EndObject();
    }
    w.EndArray();
    w.Key("groupLabels");
    write_labels(w, n.group_labels);
    w.Key("commonLabels");
    write_labels(w, common_pairs(labels));
    w.Key("commonAnnotations");
    write_labels(w, common_pairs(annotations));
    w.Key("externalURL");
    w.String(n.external_url);
    w.Key("version");
    w.String("4");
    w.Key("groupKey");
    w.String(n.group_key);
    w.Key("truncatedAlerts");
    w.Uint64(n.alerts.size() - shown);
    w.EndObject();
    return buf.GetString();
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

std::string render_alertmanager_body(const Notification& n, SystemTime now) {
    // Alertmanager resolves a firing alert whose endsAt passes without a re-send; the
    // margin covers a few missed group_interval flushes, as Prometheus does.
    const SystemTime firing_until = now + 4 * n.group_interval;
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const Alert& a : n.alerts) {
        w.StartObject();
        w.Key("labels");
        write_labels(w, a.labels);
        w.Key("annotations");
        write_labels(w, a.annotations);
        w.Key("startsAt");
        w.String(format_iso8601(a.starts_at));
        w.Key("endsAt");
        w.String(format_iso8601(is_resolved(a) ? *a.ends_at : firing_until));
        w.Key("generatorURL");
        w.String(a.generator_url);
        w.EndObject();
    }
    w.EndArray();
    return buf.GetString();
}

std::string webhook_signature(const std::string& secret, long long unix_seconds, const std::string& body) {
    const std::string signed_text = std::to_string(unix_seconds) + "." + body;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &mac_len);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "t=" + std::to_string(unix_seconds) + ",v1=";
    for (unsigned int i = 0; i < mac_len; ++i) {
        out += hex[mac[i] >> 4];
        out += hex[mac[i] & 0xF];
    }
    return out;
}

std::unique_ptr<Integration> make_integration(const IntegrationSpec& spec) {
    return std::visit(
        [&](const auto& c) -> std::unique_ptr<Integration> {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, WebhookConfig>) return std::make_unique<WebhookIntegration>(c, spec.send_resolved);
            if constexpr (std::is_same_v<T, SlackConfig>) return std::make_unique<SlackIntegration>(c, spec.send_resolved);
            if constexpr (std::is_same_v<T, AlertmanagerConfig>) {
                return std::make_unique<AlertmanagerIntegration>(c, spec.send_resolved);
            }
        },
        spec.config);
}

Receivers::Receivers(const AlertingConfig& config) {
    for (const ReceiverConfig& r : config.receivers) {
        auto& list = by_name_[r.name];
        for (const IntegrationSpec& spec : r.integrations) list.push_back(make_integration(spec));
    }
}

const std::vector<std::unique_ptr<Integration>>& Receivers::integrations(std::string_view receiver) const {
    static const std::vector<std::unique_ptr<Integration>> none;
    auto it = by_name_.find(receiver);
    return it == by_name_.end() ? none : it->second;
}

Integration* Receivers::find(std::string_view receiver, std::size_t index) const {
    const auto& list = integrations(receiver);
    return index < list.size() ? list[index].get() : nullptr;
}

}  // namespace cargomon::alerts::notify
