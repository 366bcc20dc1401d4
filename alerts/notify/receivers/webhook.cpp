#include "alerts/notify/receivers/webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>

#include "alerts/notify/receivers/http_poster.h"
#include "common/timefmt.h"
#include "metrics/labels.h"

namespace cargomon::alerts::notify {
namespace {

// Alertmanager writes Go's zero time for an alert that has not ended.
constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

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

class WebhookIntegration final : public Integration {
public:
    WebhookIntegration(const config::WebhookConfig& config, bool send_resolved)
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
    config::WebhookConfig config_;
    HttpPoster poster_;
};

}  // namespace

std::unique_ptr<Integration> make_webhook_integration(const config::WebhookConfig& config, bool send_resolved) {
    return std::make_unique<WebhookIntegration>(config, send_resolved);
}

std::string render_webhook_body(const Notification& n, std::size_t max_alerts) {
    std::vector<const metrics::Labels*> labels, annotations;
    for (const Alert& a : n.alerts) {
        labels.push_back(&a.labels);
        annotations.push_back(&a.annotations);
    }
    const std::size_t shown = max_alerts == 0 ? n.alerts.size() : std::min(max_alerts, n.alerts.size());

    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
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
        metrics::write_labels_json(w, a.labels);
        w.Key("annotations");
        metrics::write_labels_json(w, a.annotations);
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
    metrics::write_labels_json(w, n.group_labels);
    w.Key("commonLabels");
    metrics::write_labels_json(w, common_pairs(labels));
    w.Key("commonAnnotations");
    metrics::write_labels_json(w, common_pairs(annotations));
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

}  // namespace cargomon::alerts::notify
