// The web config (--web.config.file), from text: what check-web-config and every reload read.
#include "config/web_config.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cargomon::config;
    static const Environment env(std::map<std::string, std::string>{{"HOME", "/nonexistent"}});
    parse_web_config(fuzz_text(data, size), "/nonexistent/web.yml", env);
    return 0;
}
