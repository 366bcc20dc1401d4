#include "common/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/reader.h>

namespace cargomon {
namespace {

// Forwards SAX events to the Document and counts open arrays and objects; refusing one
// too many stops the parse with kParseErrorTermination at that byte.
class DepthLimit {
public:
    DepthLimit(rapidjson::Document& doc, int max_depth) : doc_(doc), max_depth_(max_depth) {}

    bool Null() { return doc_.Null(); }
    bool Bool(bool b) { return doc_.Bool(b); }
    bool Int(int i) { return doc_.Int(i); }
    bool Uint(unsigned i) { return doc_.Uint(i); }
    bool Int64(std::int64_t i) { return doc_.Int64(i); }
    bool Uint64(std::uint64_t i) { return doc_.Uint64(i); }
    bool Double(double d) { return doc_.Double(d); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return doc_.RawNumber(s, n, copy); }
    bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
    bool StartObject() { return enter() && doc_.StartObject(); }
    bool EndObject(rapidjson::SizeType members) { --depth_; return doc_.EndObject(members); }
    bool StartArray() { return enter() && doc_.StartArray(); }
    bool EndArray(rapidjson::SizeType elements) { --depth_; return doc_.EndArray(elements); }

    bool too_deep() const { return too_deep_; }

private:
    bool enter() {
        if (++depth_ <= max_depth_) return true;
        too_deep_ = true;
        return false;
    }

    rapidjson::Document& doc_;
    int max_depth_;
    int depth_ = 0;
    bool too_deep_ = false;
};

template <unsigned Flags, typename Stream>
std::optional<std::string> parse_stream(Stream& stream, rapidjson::Document& doc, const JsonOptions& options) {
    constexpr unsigned kFlags = Flags | rapidjson::kParseIterativeFlag;
    rapidjson::Reader reader;
    DepthLimit limit(doc, options.max_depth);
    rapidjson::ParseResult result;
    auto generate = [&](rapidjson::Document& target) {
        (void)target;  // the events go through `limit`, which writes into the same document
        result = options.nan_and_inf ? reader.Parse<kFlags | rapidjson::kParseNanAndInfFlag>(stream, limit)
                                     : reader.Parse<kFlags>(stream, limit);
        return !result.IsError();
    };
    doc.Populate(generate);
    if (!result.IsError()) return std::nullopt;
    doc.SetNull();
    if (limit.too_deep())
        return "offset " + std::to_string(result.Offset()) + ": nested deeper than " +
               std::to_string(options.max_depth) + " arrays and objects";
    return "offset " + std::to_string(result.Offset()) + ": " + rapidjson::GetParseError_En(result.Code());
}

}  // namespace

std::optional<std::string> parse_json(std::string_view text, rapidjson::Document& doc, JsonOptions options) {
    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
    return parse_stream<rapidjson::kParseDefaultFlags>(stream, doc, options);
}

std::optional<std::string> parse_json_in_place(std::string& text, rapidjson::Document& doc, JsonOptions options) {
    rapidjson::InsituStringStream stream(text.data());
    return parse_stream<rapidjson::kParseInsituFlag>(stream, doc, options);
}

}  // namespace cargomon
