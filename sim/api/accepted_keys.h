#pragma once
// The keys each route of the sim takes, as the official typings declare them
// (@cargo-ai/api 1.0.57: each endpoint's *Payload type), and the check the service
// makes before anything else: a body (or a GET's parameters) with a key its type does
// not declare is refused 400 `unrecognized_keys`, naming the keys and where they are
// (docs/cargo-sim.md). Objects inside a body are checked where the typings give their
// shape and the sim reads them: a batch's `data` (by its `kind`, its `filter` and
// `reset`) and a segment download's `filter`, its groups and `sort`. Pure: tests hold
// cargomon's requests to it without a server.
#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

namespace cargomon::sim {

// The keys an object takes. A union (`tag` set) takes `keys` plus those of the variant
// its `tag` names; a tag value the typings do not have is left to the route's handler.
struct Shape {
    struct Nested {
        std::string_view key;
        const Shape* shape;
        bool each = false;  // the key holds an array of such objects
    };
    struct Variant {
        std::string_view tag_value;
        const Shape* shape;
    };
    std::vector<std::string_view> keys;
    std::vector<Nested> nested;  // keys whose value is itself checked (also listed in `keys`)
    std::string_view tag;
    std::vector<Variant> variants;
};

// Keys of one object the shape does not declare. `path` is where the object is
// ("" for the body itself, "data.filter", "filter.groups[0]").
struct UnrecognizedKeys {
    std::string path;
    std::vector<std::string> keys;
};

// The shape of a route's body or parameters, by the pattern it is served under
// ("POST /v1/orchestration/batches/{uuid}/download"); a route without one takes no keys.
const Shape& route_shape(std::string_view method, std::string_view pattern);

// Every route pattern with a shape, "METHOD PATTERN" (what tests walk).
std::vector<std::string> shaped_routes();

// The objects of `body` holding keys `shape` does not take, outermost first.
std::vector<UnrecognizedKeys> unrecognized_keys(const Shape& shape, const rapidjson::Value& body);

// The 400's errorMessage: `Unrecognized keys: "a", "b"` (with `at data.filter` inside).
std::string unrecognized_keys_message(const std::vector<UnrecognizedKeys>& found);

}  // namespace cargomon::sim
