// JSON bodies: the bounded parse, then what the silence API (web/api.h) makes of a
// POSTed body, and what its client reads of an answer.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "alerts/notify/silences.h"
#include "common/clock.h"
#include "common/json.h"
#include "fuzz/fuzz.h"
#include "web/api.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz_text(data, size);
    rapidjson::Document doc;
    if (!cargomon::parse_json(text, doc)) {
        // Whatever parsed can be walked recursively: that is what the depth limit is for.
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        doc.Accept(writer);
        // The client side: any answer at all is read without a crash.
        cargomon::web::read_error(doc);
        cargomon::web::read_silence_id(doc);
        cargomon::web::read_listed_silence(doc);
        if (doc.IsArray())
            for (const auto& item : doc.GetArray()) cargomon::web::read_listed_silence(item);
    }
    std::string copy(text);
    cargomon::parse_json_in_place(copy, doc, {.nan_and_inf = true});

    static cargomon::SystemClock clock;
    static cargomon::alerts::notify::SilenceStore store(":memory:", clock);
    cargomon::web::create_silence_answer(store, text);
    return 0;
}
