#include "alerts/notify/receivers/alertmanager.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "alerts/notify/receivers/http_poster.h"
#include "common/timefmt.h"
#include "metrics/labels.h"

namespace cargomon::alerts::notify {
namespace {

class AlertmanagerIntegration final : public Integration {
public:
    AlertmanagerIntegration(const config::AlertmanagerConfig& config, bool send_resolved)
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

}  // namespace

std::unique_ptr<Integration> make_alertmanager_integration(const config::AlertmanagerConfig& config,
                                                           bool send_resolved) {
    return std::make_unique<AlertmanagerIntegration>(config, send_resolved);
}

std::string render_alertmanager_body(const Notification& n, SystemTime now) {
    // Alertmanager resolves a firing alert whose endsAt passes without a re-send; the
    // margin covers a few missed group_interval flushes, as Prometheus does.
    const SystemTime firing_until = now + 4 * n.group_interval;
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartArray();
    for (const Alert& a : n.alerts) {
        w.StartObject();
        w.Key("labels");
        metrics::write_labels_json(w, a.labels);
        w.Key("annotations");
        metrics::write_labels_json(w, a.annotations);
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

}  // namespace cargomon::alerts::notify
