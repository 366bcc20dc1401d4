#pragma once
// A collector's snapshot as "name{a=1,b=2}" -> value, labels sorted, so tests compare
// whole snapshots exactly (and a duplicate series fails the test that made it).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "metrics/model.h"

namespace cargomon::testing {

using Series = std::map<std::string, double>;

inline Series flatten(const metrics::Snapshot& s) {
    Series out;
    for (const auto& f : s.families)
        for (const auto& sample : f.samples) {
            auto labels = sample.labels;
            std::sort(labels.begin(), labels.end());
            std::string key = f.name + "{";
            for (std::size_t i = 0; i < labels.size(); ++i)
                key += (i ? "," : "") + labels[i].first + "=" + labels[i].second;
            EXPECT_TRUE(out.emplace(key + "}", sample.value).second) << "duplicate " << key;
        }
    return out;
}

}  // namespace cargomon::testing
