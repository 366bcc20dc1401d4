#pragma once
// Alertmanager's dispatcher and notification decisions: alerts are routed, gathered
// into aggregation groups (one per route and group_by label values), and each group is
// flushed group_wait after it appears and every group_interval after that. A flush
// notifies an integration when it brings new firing alerts, newly resolved ones (with
// send_resolved), or when repeat_interval has passed since the last notification;
// silenced alerts are left out. The decision and the notification go into the outbox
// together, so a restart neither forgets nor repeats it. Timers (group_wait,
// group_interval, repeat_interval, resolve_timeout) run on monotonic time: a wall clock
// stepped back or forward neither stalls a flush nor fires one early. A group whose flush
// fails (its outbox write throws) is logged, counted and retried shortly; the other
// groups go on.
//
// Thread-safety: every method may be called from any thread; one internal lock guards
// the groups and is never held while silences are matched.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "alerts/alert.h"
#include "config/alerting.h"
#include "alerts/notify/outbox.h"
#include "alerts/notify/receivers.h"
#include "alerts/notify/router.h"
#include "alerts/notify/silences.h"
#include "common/clock.h"

namespace cargomon::alerts::notify {

class Dispatcher {
public:
    // All references must outlive the dispatcher; `silences` may be null.
    Dispatcher(const config::AlertingConfig& config, const Receivers& receivers, Outbox& outbox,
               const SilenceStore* silences, const Clock& clock, prometheus::Registry& registry);

    // Alerts from the rule engine: firing ones and resolved ones (ends_at set) are
    // taken, newer versions replacing older ones by fingerprint; pending ones are ignored.
    // A firing alert not put again within resolve_timeout counts as resolved then (its
    // rule was removed, say), as Alertmanager does.
    void put(const std::vector<Alert>& alerts);

    // For a reload: every alert the groups hold, with when it was last put. A new
    // dispatcher adopt()s them, so an alert whose rule the reload removed still resolves
    // after resolve_timeout (a fresh dispatcher knew nothing of it, and it never did).
    struct Held {
        Alert alert;
        SystemTime updated;        // for the ends_at a timeout gives it
        SteadyTime updated_mono;   // for resolve_timeout
    };
    std::vector<Held> held() const;
    // Routes the alerts by this dispatcher's config as put() would, keeping `updated`.
    void adopt(const std::vector<Held>& alerts);
    // Flushes every group whose time has come and returns how many notifications it
    // queued. Call it often (about once a second). Silences are matched with no lock of
    // the dispatcher's held (see silences.h).
    std::size_t tick();

    std::size_t group_count() const;

private:
    struct Group {
        const config::Route* route = nullptr;
        metrics::Labels labels;
        struct Entry {
            Alert alert;
            SystemTime updated;  // last put()
            SteadyTime updated_mono;
        };
        std::map<std::string, Entry> alerts;  // by fingerprint
        SteadyTime next_flush;
        bool flushed = false;
        // By integration: when this dispatcher last notified it (repeat_interval). Before
        // that, after a restart or a reload, the notification log's wall-clock time counts.
        std::map<std::size_t, SteadyTime> last_sent;
    };

    using Silenced = std::map<std::string, bool>;  // by fingerprint: whether a silence matches
    void put_locked(const Alert& alert, SystemTime updated, SteadyTime updated_mono);  // caller holds mu_
    // Returns how many notifications it queued; throws when the outbox does.
    std::size_t flush(const std::string& key, Group& group, const Silenced& silenced);

    const config::AlertingConfig& config_;
    const Receivers& receivers_;
    Outbox& outbox_;
    const SilenceStore* silences_;
    const Clock& clock_;
    Router router_;
    prometheus::Family<prometheus::Counter>& failures_;
    mutable std::mutex mu_;
    std::map<std::string, Group> groups_;  // by group key
};

}  // namespace cargomon::alerts::notify
