// Request bodies as the server undoes their Content-Encoding: the first byte picks the
// coding, the rest is the body; the output limit is small so bombs are cut short.
#include "fuzz/fuzz.h"
#include "web/inflate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static constexpr const char* kCodings[] = {"gzip", "deflate", "br", "identity", "x-gzip", "compress"};
    const char* coding = kCodings[data[0] % 6];
    cargomon::web::inflate_body(coding, fuzz_text(data + 1, size - 1), 64 * 1024);
    return 0;
}
