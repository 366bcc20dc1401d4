#pragma once
// Where cargomon looks when not told: the paths of an installed cargomon (deploy/ puts the
// config and the state there), the defaults of the daemon's and every subcommand's
// --config.file and --storage.path.
namespace cargomon::daemon {

inline constexpr const char* kDefaultConfigFile = "/etc/cargomon/cargomon.yml";
inline constexpr const char* kDefaultStoragePath = "/var/lib/cargomon";  // holds kStateFile (storage.h)

}  // namespace cargomon::daemon
