#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

namespace cargomon {
namespace {

// %Q: the message as a quoted, escaped string, so a message can never break a line's format.
class QuotedMessage final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string quoted = log_quote(std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(quoted.data(), quoted.data() + quoted.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<QuotedMessage>(); }
};

}  // namespace

void setup_logging(std::string_view level, std::string_view format, std::string_view program) {
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off")
        throw std::invalid_argument("unknown log level \"" + std::string(level) + "\" (debug, info, warn, error)");
    std::string pattern;
    if (format == "logfmt") {
        pattern = "ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l caller=" + std::string(program) + " msg=%Q";
    } else if (format == "json") {
        pattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","caller":")" + std::string(program) + R"(","msg":%Q})";
    } else {
        throw std::invalid_argument("unknown log format \"" + std::string(format) + "\" (logfmt, json)");
    }
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<QuotedMessage>('Q').set_pattern(pattern);
    auto logger = std::make_shared<spdlog::logger>(std::string(program),
                                                   std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_formatter(std::move(formatter));
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

std::string log_quote(std::string_view value) {
    std::string out = "\"";
    for (char c : value) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

}  // namespace cargomon
