#include "alerts/notify/silences.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "common/sqlite.h"
#include "common/json.h"
#include "common/text.h"
#include "common/timefmt.h"

namespace cargomon::alerts {
namespace {

using sqlite::Statement;
using metrics::Matcher;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

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


// Alertmanager's matcher objects; a missing isEqual means true, as in its API.
std::variant<std::vector<Matcher>, std::string> read_matchers(const rapidjson::Value& v) {
    if (!v.IsArray()) return std::string("matchers: expected a list of {name, value, isRegex, isEqual}");
    std::vector<Matcher> out;
    for (const auto& item : v.GetArray()) {
        if (!item.IsObject() || !item.HasMember("name") || !item["name"].IsString() || !item.HasMember("value") ||
            !item["value"].IsString()) {
            return std::string("matchers: every matcher needs string name and value");
        }
        auto flag = [&](const char* key, bool fallback) -> std::optional<bool> {
            if (!item.HasMember(key)) return fallback;
            if (!item[key].IsBool()) return std::nullopt;
            return item[key].GetBool();
        };
        std::optional<bool> is_regex = flag("isRegex", false), is_equal = flag("isEqual", true);
        if (!is_regex || !is_equal) return std::string("matchers: isRegex and isEqual must be true or false");
        Matcher::Op op = *is_regex ? (*is_equal ? Matcher::Op::regex : Matcher::Op::not_regex)
                                   : (*is_equal ? Matcher::Op::equal : Matcher::Op::not_equal);
        auto m = metrics::make_matcher(item["name"].GetString(), op, item["value"].GetString());
        if (auto* error = std::get_if<std::string>(&m)) return *error;
        out.push_back(std::get<Matcher>(std::move(m)));
    }
    return out;
}

std::string matchers_json(const std::vector<Matcher>& matchers) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    write_matchers(w, matchers);
    return buf.GetString();
}

constexpr std::string_view state_name(SilenceState s) {
    switch (s) {
        case SilenceState::pending: return "pending";
        case SilenceState::active: return "active";
        case SilenceState::expired: return "expired";
    }
    return "";
}

SilenceApiAnswer json_error(int status, const std::string& message) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("error");
    w.String(message);
    w.EndObject();
    return {status, buf.GetString()};
}

}  // namespace

void write_matchers(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::vector<Matcher>& matchers) {
    w.StartArray();
    for (const Matcher& m : matchers) {
        w.StartObject();
        w.Key("name");
        w.String(m.name());
        w.Key("value");
        w.String(m.value());
        w.Key("isRegex");
        w.Bool(m.is_regex());
        w.Key("isEqual");
        w.Bool(m.op() == Matcher::Op::equal || m.op() == Matcher::Op::regex);
        w.EndObject();
    }
    w.EndArray();
}

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
        auto matchers = read_matchers(doc);
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
        .bind(2, matchers_json(silence.matchers))
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

SilenceApiAnswer list_silences_answer(const SilenceStore& store) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const Silence& s : store.list()) {
        w.StartObject();
        w.Key("id");
        w.String(s.id);
        w.Key("status");
        w.StartObject();
        w.Key("state");
        std::string_view state = state_name(store.state(s));
        w.String(state.data(), static_cast<rapidjson::SizeType>(state.size()));
        w.EndObject();
        w.Key("matchers");
        write_matchers(w, s.matchers);
        w.Key("startsAt");
        w.String(format_iso8601(s.starts_at));
        w.Key("endsAt");
        w.String(format_iso8601(s.ends_at));
        w.Key("createdBy");
        w.String(s.created_by);
        w.Key("comment");
        w.String(s.comment);
        w.EndObject();
    }
    w.EndArray();
    return {200, buf.GetString()};
}

SilenceApiAnswer create_silence_answer(SilenceStore& store, std::string_view body) {
    rapidjson::Document doc;
    if (auto error = parse_json(body, doc)) return json_error(400, "body is not JSON: " + *error);
    if (!doc.IsObject()) return json_error(400, "body must be a JSON object");
    Silence silence;
    if (!doc.HasMember("matchers")) return json_error(400, "missing matchers");
    auto matchers = read_matchers(doc["matchers"]);
    if (auto* error = std::get_if<std::string>(&matchers)) return json_error(400, *error);
    silence.matchers = std::get<std::vector<Matcher>>(std::move(matchers));
    auto time_field = [&](const char* key, bool required) -> std::variant<std::optional<SystemTime>, std::string> {
        if (!doc.HasMember(key)) {
            if (required) return "missing " + std::string(key);
            return std::optional<SystemTime>{};
        }
        if (!doc[key].IsString()) return std::string(key) + ": expected an RFC 3339 timestamp";
        auto t = parse_iso8601(doc[key].GetString());
        if (!t) return std::string(key) + ": expected an RFC 3339 timestamp";
        return t;
    };
    auto starts = time_field("startsAt", false);
    auto ends = time_field("endsAt", true);
    if (auto* error = std::get_if<std::string>(&starts)) return json_error(400, *error);
    if (auto* error = std::get_if<std::string>(&ends)) return json_error(400, *error);
    silence.starts_at = std::get<0>(starts).value_or(SystemTime{});
    silence.ends_at = *std::get<0>(ends);
    for (auto [key, field] : {std::pair{"createdBy", &silence.created_by}, std::pair{"comment", &silence.comment}}) {
        if (!doc.HasMember(key)) continue;
        if (!doc[key].IsString()) return json_error(400, std::string(key) + ": expected a string");
        *field = doc[key].GetString();
    }
    auto added = store.add(std::move(silence));
    if (auto* rejected = std::get_if<SilenceRejected>(&added)) return json_error(400, rejected->reason);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("silenceID");
    w.String(std::get<std::string>(added));
    w.EndObject();
    return {200, buf.GetString()};
}

SilenceApiAnswer expire_silence_answer(SilenceStore& store, const std::string& id) {
    if (!store.expire(id)) return json_error(404, "no active or pending silence with that id");
    return {200, ""};
}

}  // namespace cargomon::alerts
