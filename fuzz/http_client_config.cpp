// The HTTP client config (`cargomon silence --http.config.file`), from text: a file a user
// hands the CLI, read as check-web-config reads the web config.
#include "config/http_client_config.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cargomon::config;
    static const Environment env(std::map<std::string, std::string>{{"HOME", "/nonexistent"}});
    parse_http_client_config(fuzz_text(data, size), "/nonexistent/http.yml", env);
    return 0;
}
