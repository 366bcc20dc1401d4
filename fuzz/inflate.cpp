// Bodies as the server undoes their Content-Encoding (whole) and as the Cargo client does
// (streamed): the first byte picks the coding and where the stream is split, the rest is
// the body; the output limit is small so bombs are cut short. Both ways must agree.
#include <cstdlib>

#include "common/inflate.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static constexpr const char* kCodings[] = {"gzip", "deflate", "br", "identity", "x-gzip", "compress"};
    const char* coding = kCodings[data[0] % 6];
    const std::string_view body = fuzz_text(data + 1, size - 1);
    constexpr std::size_t kLimit = 64 * 1024;
    const cargomon::Inflated whole = cargomon::inflate_body(coding, body, kLimit);
    if (!cargomon::inflate_supported(coding)) return 0;

    std::string streamed;
    cargomon::Inflater inflater(coding, kLimit, [&](std::string_view d) { streamed.append(d); });
    const std::size_t split = body.empty() ? 0 : (data[0] / 6u) % body.size();
    cargomon::InflateStatus status = inflater.write(body.substr(0, split));
    if (status == cargomon::InflateStatus::ok) status = inflater.write(body.substr(split));
    if (status == cargomon::InflateStatus::ok) status = inflater.finish();
    if (status != whole.status || (status == cargomon::InflateStatus::ok && streamed != whole.data)) std::abort();
    return 0;
}
