#include "tsdb/chunk.h"

#include <algorithm>
#include <bit>

namespace cargomon::tsdb {
namespace {

bool fits(std::int64_t value, unsigned bits) {
    const std::int64_t limit = std::int64_t{1} << (bits - 1);
    return value >= -limit && value < limit;
}

std::int64_t sign_extend(std::uint64_t value, unsigned bits) {
    if (bits < 64 && (value >> (bits - 1)) & 1) value |= ~std::uint64_t{0} << bits;
    return static_cast<std::int64_t>(value);
}

}  // namespace

void ChunkEncoder::put_bits(std::uint64_t bits, unsigned n) {
    while (n > 0) {
        if (free_bits_ == 0) {
            bytes_.push_back(0);
            free_bits_ = 8;
        }
        const unsigned take = std::min<unsigned>(n, free_bits_);
        const std::uint64_t part = (bits >> (n - take)) & ((1u << take) - 1);
        bytes_.back() |= static_cast<std::uint8_t>(part << (free_bits_ - take));
        free_bits_ = static_cast<std::uint8_t>(free_bits_ - take);
        n -= take;
    }
}

void ChunkEncoder::put_varint(std::int64_t value) {
    std::uint64_t z = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
    while (z >= 0x80) {
        put_bits((z & 0x7f) | 0x80, 8);
        z >>= 7;
    }
    put_bits(z, 8);
}

void ChunkEncoder::put_value(std::uint64_t bits) {
    const std::uint64_t x = bits ^ v_;
    if (x == 0) {
        put_bits(0, 1);
        return;
    }
    // Five bits hold the leading count: more than 31 is written as 31 (a wider window).
    const auto lead = static_cast<std::uint8_t>(std::min(std::countl_zero(x), 31));
    const auto trail = static_cast<std::uint8_t>(std::countr_zero(x));
    if (leading_ != 0xff && lead >= leading_ && trail >= trailing_) {
        put_bits(0b10, 2);
        put_bits(x >> trailing_, 64u - leading_ - trailing_);
        return;
    }
    const unsigned significant = 64u - lead - trail;
    put_bits(0b11, 2);
    put_bits(lead, 5);
    put_bits(significant == 64 ? 0 : significant, 6);
    put_bits(x >> trail, significant);
    leading_ = lead;
    trailing_ = trail;
}

void ChunkEncoder::append(std::int64_t t_signed, double value) {
    const auto t = static_cast<std::uint64_t>(t_signed);
    const auto v = std::bit_cast<std::uint64_t>(value);
    if (count_ == 0) {
        put_varint(t_signed);
        put_bits(v, 64);
    } else if (count_ == 1) {
        delta_ = t - t_;
        put_varint(static_cast<std::int64_t>(delta_));
        put_value(v);
    } else {
        const std::uint64_t delta = t - t_;
        const auto dod = static_cast<std::int64_t>(delta - delta_);
        if (dod == 0) {
            put_bits(0, 1);
        } else if (fits(dod, 14)) {
            put_bits(0b10, 2);
            put_bits(static_cast<std::uint64_t>(dod), 14);
        } else if (fits(dod, 17)) {
            put_bits(0b110, 3);
            put_bits(static_cast<std::uint64_t>(dod), 17);
        } else if (fits(dod, 20)) {
            put_bits(0b1110, 4);
            put_bits(static_cast<std::uint64_t>(dod), 20);
        } else {
            put_bits(0b1111, 4);
            put_bits(static_cast<std::uint64_t>(dod), 64);
        }
        delta_ = delta;
        put_value(v);
    }
    t_ = t;
    v_ = v;
    ++count_;
}

std::vector<std::uint8_t> ChunkEncoder::finish() {
    bytes_.shrink_to_fit();
    std::vector<std::uint8_t> out = std::move(bytes_);
    *this = ChunkEncoder{};
    return out;
}

bool ChunkDecoder::get_bits(unsigned n, std::uint64_t& out) {
    if (n > bytes_.size() * 8 - bit_) return false;
    std::uint64_t value = 0;
    while (n > 0) {
        const unsigned offset = bit_ & 7;
        const unsigned available = 8 - offset;
        const unsigned take = std::min(n, available);
        const std::uint64_t part = (bytes_[bit_ >> 3] >> (available - take)) & ((1u << take) - 1);
        value = (value << take) | part;
        bit_ += take;
        n -= take;
    }
    out = value;
    return true;
}

bool ChunkDecoder::get_varint(std::int64_t& out) {
    std::uint64_t z = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        std::uint64_t group = 0;
        if (!get_bits(8, group)) return false;
        z |= (group & 0x7f) << shift;
        if (!(group & 0x80)) {
            out = static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
            return true;
        }
    }
    return false;  // more groups than 64 bits need
}

bool ChunkDecoder::get_value() {
    std::uint64_t bit = 0;
    if (!get_bits(1, bit)) return false;
    if (bit == 0) return true;
    if (!get_bits(1, bit)) return false;
    std::uint64_t x = 0;
    if (bit == 0) {
        if (leading_ == 0xff) return false;  // a window reused before any was set
        if (!get_bits(64u - leading_ - trailing_, x)) return false;
        v_ ^= x << trailing_;
        return true;
    }
    std::uint64_t lead = 0, significant = 0;
    if (!get_bits(5, lead) || !get_bits(6, significant)) return false;
    if (significant == 0) significant = 64;
    if (lead + significant > 64) return false;
    if (!get_bits(static_cast<unsigned>(significant), x)) return false;
    trailing_ = static_cast<std::uint8_t>(64 - lead - significant);
    leading_ = static_cast<std::uint8_t>(lead);
    v_ ^= x << trailing_;
    return true;
}

bool ChunkDecoder::next() {
    if (failed_ || left_ == 0) return false;
    bool ok = true;
    if (read_ == 0) {
        std::int64_t t = 0;
        ok = get_varint(t) && get_bits(64, v_);
        t_ = static_cast<std::uint64_t>(t);
    } else if (read_ == 1) {
        std::int64_t delta = 0;
        ok = get_varint(delta) && get_value();
        delta_ = static_cast<std::uint64_t>(delta);
        t_ += delta_;
    } else {
        // The prefix: up to four 1 bits, the bucket is their count.
        unsigned ones = 0;
        std::uint64_t bit = 1;
        while (ones < 4 && (ok = get_bits(1, bit)) && bit == 1) ++ones;
        static constexpr unsigned kWidth[] = {0, 14, 17, 20, 64};
        std::uint64_t dod = 0;
        if (ok && ones > 0) ok = get_bits(kWidth[ones], dod);
        if (ok) {
            delta_ += static_cast<std::uint64_t>(ones > 0 ? sign_extend(dod, kWidth[ones]) : 0);
            t_ += delta_;
            ok = get_value();
        }
    }
    if (!ok) {
        failed_ = true;
        return false;
    }
    ++read_;
    --left_;
    return true;
}

Sample ChunkDecoder::at() const {
    return {static_cast<std::int64_t>(t_), std::bit_cast<double>(v_)};
}

bool decode_chunk(std::span<const std::uint8_t> bytes, std::size_t count, std::vector<Sample>& out) {
    ChunkDecoder decoder(bytes, count);
    while (decoder.next()) out.push_back(decoder.at());
    return !decoder.failed();
}

}  // namespace cargomon::tsdb
