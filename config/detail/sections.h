#pragma once
// Internal to config/: the sections of the config file that have a file of their own
// (config/alerting.cpp, config/actions.cpp), read by the config's loader (config/loader.cpp)
// in the same pass and with the same YamlReader as the rest of the file.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace cargomon::config::detail {

// The `alerting:` section; relative `*_file` paths are read from `dir`.
AlertingConfig read_alerting(YamlReader& reader, const YAML::Node& node, const std::filesystem::path& dir);

// The `actions:` section, and the places of its keys.
ActionsConfig read_actions(YamlReader& reader, const YAML::Node& node);
std::vector<KnownKeys> actions_known_keys();

}  // namespace cargomon::config::detail
