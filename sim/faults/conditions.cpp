#include "sim/faults/conditions.h"

namespace cargomon::sim {
namespace {

template <typename Map>
const typename Map::mapped_type* active(const Map& m, const std::string& workflow, SystemTime now) {
    for (const std::string& key : {workflow, std::string("*")}) {
        auto it = m.find(key);
        if (it != m.end() && it->second.until > now) return &it->second;
    }
    return nullptr;
}

}  // namespace

void Conditions::error_spike(const std::string& workflow, double error_rate, SystemTime until) {
    std::lock_guard lock(mu_);
    error_spikes_[workflow] = {error_rate, until};
}

void Conditions::silence(const std::string& workflow, SystemTime until) {
    std::lock_guard lock(mu_);
    silences_[workflow] = {1, until};
}

void Conditions::credit_spike(const std::string& workflow, double factor, SystemTime until) {
    std::lock_guard lock(mu_);
    credit_spikes_[workflow] = {factor, until};
}

void Conditions::fail_next_batch(const std::string& workflow, double failed_fraction) {
    std::lock_guard lock(mu_);
    next_batch_failures_[workflow] = failed_fraction;
}

void Conditions::stuck_batch(const std::string& workflow, Millis age) {
    std::lock_guard lock(mu_);
    stuck_batches_.emplace_back(workflow, age);
}

std::vector<std::pair<std::string, Millis>> Conditions::take_stuck_batches() {
    std::lock_guard lock(mu_);
    return std::exchange(stuck_batches_, {});
}

void Conditions::clear() {
    std::lock_guard lock(mu_);
    stuck_batches_.clear();
    error_spikes_.clear();
    silences_.clear();
    credit_spikes_.clear();
    next_batch_failures_.clear();
}

WorkflowEffects Conditions::effects(const std::string& workflow, SystemTime now) const {
    std::lock_guard lock(mu_);
    WorkflowEffects e;
    if (auto* s = active(error_spikes_, workflow, now)) e.error_rate = s->value;
    e.silent = active(silences_, workflow, now) != nullptr;
    if (auto* s = active(credit_spikes_, workflow, now)) e.credit_factor = s->value;
    for (const std::string& key : {workflow, std::string("*")}) {
        auto it = next_batch_failures_.find(key);
        if (it != next_batch_failures_.end()) {
            e.next_batch_failed_fraction = it->second;
            break;
        }
    }
    return e;
}

std::optional<double> Conditions::take_next_batch_failure(const std::string& workflow) {
    std::lock_guard lock(mu_);
    for (const std::string& key : {workflow, std::string("*")}) {
        auto it = next_batch_failures_.find(key);
        if (it != next_batch_failures_.end()) {
            double v = it->second;
            next_batch_failures_.erase(it);
            return v;
        }
    }
    return std::nullopt;
}

}  // namespace cargomon::sim
