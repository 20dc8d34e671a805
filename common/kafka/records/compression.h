#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/base/result.h"

namespace kenc::kafka::records {

// The compression codec of a batch: bits 0-2 of the batch attributes.
enum class Codec : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

const char* codec_name(Codec codec);

// The default ceiling on what one batch may decompress to. A batch that would grow past the
// ceiling is rejected (a decompression bomb), never allocated.
inline constexpr size_t kDefaultMaxDecompressedBytes = size_t{64} * 1024 * 1024;

// Decompresses `in` and appends the result to `out`. Snappy input may be raw or in the xerial
// framing Java clients write; lz4 input is the lz4 frame format; zstd frames may lack a content
// size. Errors: kInvalidArgument for corrupt input, kOutOfRange when the output would exceed
// `max_out` bytes, kUnsupported for Codec values above kZstd.
Status decompress(Codec codec, std::span<const uint8_t> in, std::vector<uint8_t>& out,
                  size_t max_out = kDefaultMaxDecompressedBytes);

// Compresses `in` and appends the result to `out`, in the form the Java producer writes:
// gzip with a gzip header, snappy in xerial framing, lz4 frames with 64 KiB independent blocks,
// zstd frames.
Status compress(Codec codec, std::span<const uint8_t> in, std::vector<uint8_t>& out);

// Raw snappy (no framing), as librdkafka writes it; exposed for tests and interop.
Status compress_snappy_raw(std::span<const uint8_t> in, std::vector<uint8_t>& out);

}  // namespace kenc::kafka::records
