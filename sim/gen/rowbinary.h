#pragma once
// Generated rows in ClickHouse's RowBinary format, the cheapest way in (no escaping,
// no text dates), gathered per table into blocks that are handed on when full.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "sim/gen/generator.h"

namespace cargomon::sim {

enum class Table { batches, runs, spans, records };
inline constexpr Table kAllTables[] = {Table::batches, Table::runs, Table::spans, Table::records};
// The table rows are inserted into: batches go to `batches_versions` behind the view.
std::string_view insert_table(Table table);

void append_row_binary(std::string& out, const BatchRow& row);
void append_row_binary(std::string& out, const RunRow& row);
void append_row_binary(std::string& out, const SpanRow& row);
void append_row_binary(std::string& out, const RecordRow& row);

// A RowSink that encodes each row at once and calls `full` with a table's block once
// it holds `rows_per_block` rows (and from flush(), with what is left).
class RowBinaryBlocks final : public RowSink {
public:
    using Full = std::function<void(Table, std::string block, std::size_t rows)>;
    RowBinaryBlocks(std::size_t rows_per_block, Full full);

    void batch(const BatchRow& row) override { add(Table::batches, row); }
    void run(const RunRow& row) override { add(Table::runs, row); }
    void span(const SpanRow& row) override { add(Table::spans, row); }
    void record(const RecordRow& row) override { add(Table::records, row); }
    void flush();

private:
    struct Block {
        std::string data;
        std::size_t rows = 0;
    };
    template <typename Row>
    void add(Table table, const Row& row) {
        Block& b = blocks_[static_cast<int>(table)];
        append_row_binary(b.data, row);
        if (++b.rows >= rows_per_block_) hand_on(table);
    }
    void hand_on(Table table);

    std::size_t rows_per_block_;
    Full full_;
    Block blocks_[4];
};

}  // namespace cargomon::sim
