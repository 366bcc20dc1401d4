#include "exporters/metrics_handler.h"

#include <utility>
#include <vector>

namespace cargomon::exporters {

void MetricsHandler::serve(const web::Request& req, web::Response& res) {
    auto format = negotiate_format(req.header("Accept"));
    // The registry before the view: a run is published before its success is set, so the
    // scrape holds the data of every success its self-metrics show.
    auto head = std::make_shared<const Exposition>(registry_.Collect(), nullptr, format, /*end=*/false);
    auto view = store_.view();
    const bool gzip = accepts_gzip(req.header("Accept-Encoding"));
    const int slot = format == metrics::Format::openmetrics ? 1 : 0;
    std::shared_ptr<const StorePart> part;
    {
        std::lock_guard lock(cache_mu_);
        auto& cached = parts_[slot];
        if (cached && cached->view == view && (!gzip || cached->gzip)) part = cached;
    }
    if (!part) {
        auto fresh = std::make_shared<StorePart>();
        fresh->view = view;
        fresh->exposition =
            std::make_shared<const Exposition>(std::vector<prometheus::MetricFamily>{}, view, format, /*end=*/true);
        if (gzip) fresh->gzip = std::make_shared<const GzipTail>(gzip_tail(fresh->exposition->pieces()));
        std::lock_guard lock(cache_mu_);
        // A part of an older view would keep that whole view (every snapshot it
        // replaced) alive until the next scrape in its format, which may never come.
        for (auto& other : parts_)
            if (other && other->view != view) other.reset();
        parts_[slot] = fresh;
        part = fresh;
    }
    res.set_header("Content-Type", std::string(content_type(format)));
    res.set_header("Vary", "Accept, Accept-Encoding");
    if (gzip) {
        res.set_header("Content-Encoding", "gzip");
        res.body = gzip_join(head->pieces(), *part->gzip);
        return;
    }
    // The pieces go out as they are: the store's sample lines are not copied.
    res.pieces = head->pieces();
    res.pieces.insert(res.pieces.end(), part->exposition->pieces().begin(), part->exposition->pieces().end());
    res.owner = std::make_shared<std::pair<decltype(head), decltype(part)>>(head, part);
}

}  // namespace cargomon::exporters
