#include "alerts/notify/silences.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "common/sqlite.h"
#include "common/json.h"
#include "common/text.h"

namespace cargomon::alerts::notify {
namespace {

using sqlite::Statement;
using metrics::Matcher;

using sqlite::to_millis;
using sqlite::from_millis;

std::string new_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const std::uint64_t a = rng(), b = rng();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFF),
                  static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
    return buf;
}

}  // namespace

SilenceStore::SilenceStore(const std::string& path, const Clock& clock, Millis retention, SilenceLimits limits)
    : clock_(clock), retention_(retention), limits_(limits), db_(std::make_unique<sqlite::Database>(path)) {
    db_->exec(R"(
        CREATE TABLE IF NOT EXISTS silences (
            id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,
            created_by TEXT NOT NULL, comment TEXT NOT NULL))");
    Statement s(*db_, "SELECT id, matchers, starts_at, ends_at, created_by, comment FROM silences");
    auto loaded = std::make_shared<std::vector<Silence>>();
    while (s.step()) {
        rapidjson::Document doc;
        if (parse_json(s.text(1), doc)) throw std::runtime_error("silence " + s.text(0) + ": stored matchers are corrupt");
        auto matchers = metrics::matchers_from_json(doc);
        if (auto* error = std::get_if<std::string>(&matchers)) throw std::runtime_error("silence " + s.text(0) + ": " + *error);
        loaded->push_back(Silence{.id = s.text(0),
                                    .matchers = std::get<std::vector<Matcher>>(std::move(matchers)),
                                    .starts_at = from_millis(s.int64(2)),
                                    .ends_at = from_millis(s.int64(3)),
                                    .created_by = s.text(4),
                                    .comment = s.text(5)});
    }
    silences_ = std::move(loaded);
}

SilenceStore::~SilenceStore() = default;

std::variant<std::string, SilenceRejected> SilenceStore::add(Silence silence) {
    const SystemTime now = clock_.now();
    if (silence.matchers.empty()) return SilenceRejected{"a silence needs at least one matcher"};
    // A silence whose matchers all match the empty label set would silence everything.
    if (metrics::matches_all(silence.matchers, {})) {
        return SilenceRejected{"at least one matcher must not match the empty string"};
    }
    if (silence.comment.empty()) return SilenceRejected{"a silence needs a comment"};
    auto too_long = [](std::string_view what, std::size_t size, std::size_t limit) {
        return SilenceRejected{std::string(what) + " is " + std::to_string(size) + " bytes, longer than the limit of " +
                               std::to_string(limit)};
    };
    if (silence.matchers.size() > limits_.max_matchers) {
        return SilenceRejected{"a silence has " + std::to_string(silence.matchers.size()) +
                               " matchers, more than the limit of " + std::to_string(limits_.max_matchers)};
    }
    for (const Matcher& m : silence.matchers) {
        if (m.value().size() > limits_.max_value_length)
            return too_long("the value of matcher " + cargomon::quoted(m.name()), m.value().size(), limits_.max_value_length);
    }
    if (silence.comment.size() > limits_.max_comment_length)
        return too_long("comment", silence.comment.size(), limits_.max_comment_length);
    if (silence.created_by.size() > limits_.max_created_by_length)
        return too_long("createdBy", silence.created_by.size(), limits_.max_created_by_length);
    if (silence.starts_at < now) silence.starts_at = now;
    if (silence.ends_at <= silence.starts_at) return SilenceRejected{"endsAt must be after startsAt and now"};
    silence.id = new_id();

    std::lock_guard lock(mu_);
    const auto unexpired = std::count_if(silences_->begin(), silences_->end(), [&](const Silence& s) { return s.ends_at > now; });
    if (static_cast<std::size_t>(unexpired) >= limits_.max_silences) {
        return SilenceRejected{"there are already " + std::to_string(unexpired) +
                               " active or pending silences, the limit; expire some first"};
    }
    auto next = std::make_shared<std::vector<Silence>>(*silences_);
    next->push_back(silence);
    Statement s(*db_, "INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?)");
    s.bind(1, silence.id)
        .bind(2, metrics::matchers_to_json(silence.matchers))
        .bind(3, to_millis(silence.starts_at))
        .bind(4, to_millis(silence.ends_at))
        .bind(5, silence.created_by)
        .bind(6, silence.comment);
    s.run();
    silences_ = std::move(next);
    return silence.id;
}

bool SilenceStore::expire(const std::string& id) {
    const SystemTime now = clock_.now();
    std::lock_guard lock(mu_);
    auto found = std::find_if(silences_->begin(), silences_->end(), [&](const Silence& s) { return s.id == id; });
    if (found == silences_->end() || found->ends_at <= now) return false;
    auto next = std::make_shared<std::vector<Silence>>(*silences_);
    Silence& ended = (*next)[static_cast<std::size_t>(found - silences_->begin())];
    ended.ends_at = now;
    // A pending silence never started: it ends where it would have begun.
    if (ended.starts_at > now) ended.starts_at = now;
    Statement s(*db_, "UPDATE silences SET starts_at = ?, ends_at = ? WHERE id = ?");
    s.bind(1, to_millis(ended.starts_at)).bind(2, to_millis(now)).bind(3, id);
    s.run();
    silences_ = std::move(next);
    return true;
}

std::shared_ptr<const std::vector<Silence>> SilenceStore::snapshot() const {
    std::lock_guard lock(mu_);
    return silences_;
}

std::vector<Silence> SilenceStore::list() const { return *snapshot(); }

SilenceState SilenceStore::state(const Silence& silence) const {
    const SystemTime now = clock_.now();
    if (silence.ends_at <= now) return SilenceState::expired;
    return silence.starts_at > now ? SilenceState::pending : SilenceState::active;
}

bool SilenceStore::silenced(const metrics::Labels& labels) const {
    const auto silences = snapshot();
    return std::any_of(silences->begin(), silences->end(), [&](const Silence& s) {
        return state(s) == SilenceState::active && metrics::matches_all(s.matchers, labels);
    });
}

void SilenceStore::gc() {
    const SystemTime cutoff = clock_.now() - retention_;
    std::lock_guard lock(mu_);
    Statement s(*db_, "DELETE FROM silences WHERE ends_at <= ?");
    s.bind(1, to_millis(cutoff));
    s.run();
    auto next = std::make_shared<std::vector<Silence>>(*silences_);
    std::erase_if(*next, [&](const Silence& x) { return x.ends_at <= cutoff; });
    silences_ = std::move(next);
}

}  // namespace cargomon::alerts::notify
