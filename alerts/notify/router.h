#pragma once
// The route tree walk, as Alertmanager does it: an alert goes down the first matching
// child (and on to later siblings while the matched child says `continue`); a node none
// of whose children match takes the alert itself.
#include <vector>

#include "config/alerting.h"

namespace cargomon::alerts::notify {

class Router {
public:
    explicit Router(const config::Route& root) : root_(root) {}
    // The routes that handle an alert with these labels; never empty (the root catches all).
    std::vector<const config::Route*> match(const metrics::Labels& labels) const;

private:
    const config::Route& root_;
};

}  // namespace cargomon::alerts::notify
