// cargomon: watches a Cargo workspace, exports Prometheus metrics. Every command line is
// parsed in daemon/cli/, one file per subcommand as promtool's and amtool's cmd/; this
// only picks the subcommand.
#include <iostream>
#include <string>
#include <vector>

#include "daemon/cli/batch.h"
#include "daemon/cli/backup.h"
#include "daemon/cli/check.h"
#include "daemon/cli/export.h"
#include "daemon/cli/preview.h"
#include "daemon/cli/serve.h"
#include "daemon/cli/silence.h"

int main(int argc, char** argv) {
    using namespace cargomon::cli;
    const std::vector<std::string> args(argv + 1, argv + argc);
    const std::string first = args.empty() ? "" : args[0];
    const std::vector<std::string> rest = args.empty() ? args : std::vector<std::string>(args.begin() + 1, args.end());
    if (first == "check-config") return check_config_main(rest, std::cout, std::cerr);
    if (first == "check-rules") return check_rules_main(rest, std::cout, std::cerr);
    if (first == "check-web-config") return check_web_config_main(rest, std::cout, std::cerr);
    if (first == "rules" && args.size() >= 2 && args[1] == "preview")
        return rules_preview_main({args.begin() + 2, args.end()}, std::cout, std::cerr);
    if (first == "silence") return silence_main(rest, std::cout, std::cerr);
    if (first == "backup") return backup_main(rest, std::cout, std::cerr);
    if (first == "batch") return batch_main(rest, std::cin, std::cout, std::cerr);
    if (first == "export") return export_main(rest, std::cout, std::cerr);
    return serve_main(args);
}
