#include "common/kafka/records/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace kenc::kafka::records {
namespace {

// xerial snappy-java stream framing: an 8-byte magic, a version and a compatible-version int32,
// then blocks, each a big-endian int32 length and a raw snappy block.
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderBytes = 16;
constexpr size_t kXerialBlockBytes = size_t{32} * 1024;  // snappy-java's default block size

Error corrupt(const char* codec, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, std::string(codec) + ": " + what);
}
Error too_large(size_t max_out) {
  return make_error(ErrorCode::kOutOfRange, "decompressed batch exceeds the limit of " +
                                                std::to_string(max_out) + " bytes");
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void append_be32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// Grows `out` by at least one chunk without exceeding `limit` total bytes. Returns false when
// `out` is already at the limit.
bool grow(std::vector<uint8_t>& out, size_t limit, size_t chunk) {
  if (out.size() >= limit) {
    return false;
  }
  out.resize(out.size() + std::min(chunk, limit - out.size()));
  return true;
}

// ---- gzip ------------------------------------------------------------------------------------

Status gzip_decompress(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) {
    return make_error(ErrorCode::kInternal, "inflateInit2");
  }
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  zs.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct
  zs.avail_in = static_cast<uInt>(in.size());
  const size_t start = out.size();
  const size_t limit = start + max_out;
  for (;;) {
    if (zs.avail_out == 0) {
      size_t used = out.size();
      if (!grow(out, limit + 1, std::max<size_t>(in.size() * 4, size_t{16} * 1024))) {
        out.resize(start);
        return too_large(max_out);
      }
      zs.next_out = out.data() + used;
      zs.avail_out = static_cast<uInt>(out.size() - used);
    }
    int rc = inflate(&zs, Z_NO_FLUSH);
    size_t produced = out.size() - zs.avail_out;
    if (produced - start > max_out) {
      out.resize(start);
      return too_large(max_out);
    }
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are legal; continue when input remains.
      if (zs.avail_in > 0) {
        if (inflateReset(&zs) != Z_OK) {
          return corrupt("gzip", "inflateReset failed");
        }
        continue;
      }
      out.resize(produced);
      return Status::Ok();
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && zs.avail_out > 0) {
      out.resize(start);
      return corrupt("gzip", "truncated stream");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out.resize(start);
      return corrupt("gzip", zs.msg ? zs.msg : "inflate failed");
    }
  }
}

Status gzip_compress(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return make_error(ErrorCode::kInternal, "deflateInit2");
  }
  std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&zs, &deflateEnd);
  const size_t start = out.size();
  out.resize(start + deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data() + start;
  zs.avail_out = static_cast<uInt>(out.size() - start);
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
    out.resize(start);
    return make_error(ErrorCode::kInternal, "gzip: deflate did not finish");
  }
  out.resize(out.size() - zs.avail_out);
  return Status::Ok();
}

// ---- snappy ----------------------------------------------------------------------------------

Status snappy_raw_decompress(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                             size_t max_out) {
  const char* src = reinterpret_cast<const char*>(in.data());
  size_t length = 0;
  if (!snappy::GetUncompressedLength(src, in.size(), &length)) {
    return corrupt("snappy", "bad block header");
  }
  if (length > max_out) {
    return too_large(max_out);
  }
  const size_t start = out.size();
  out.resize(start + length);
  if (!snappy::RawUncompress(src, in.size(), reinterpret_cast<char*>(out.data() + start))) {
    out.resize(start);
    return corrupt("snappy", "corrupt block");
  }
  return Status::Ok();
}

Status snappy_decompress(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
  if (in.size() < kXerialHeaderBytes || std::memcmp(in.data(), kXerialMagic, 8) != 0) {
    return snappy_raw_decompress(in, out, max_out);
  }
  const size_t start = out.size();
  size_t pos = kXerialHeaderBytes;  // version and compatible version are not checked: any works
  while (pos < in.size()) {
    if (in.size() - pos < 4) {
      out.resize(start);
      return corrupt("snappy", "truncated xerial block length");
    }
    uint32_t block = read_be32(in.data() + pos);
    pos += 4;
    if (block > in.size() - pos) {
      out.resize(start);
      return corrupt("snappy", "xerial block runs past the input");
    }
    size_t used = out.size() - start;
    Status s = snappy_raw_decompress(in.subspan(pos, block), out, max_out - used);
    if (!s.ok()) {
      out.resize(start);
      return s;
    }
    pos += block;
  }
  return Status::Ok();
}

Status snappy_compress_raw(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  out.resize(start + snappy::MaxCompressedLength(in.size()));
  size_t written = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(),
                      reinterpret_cast<char*>(out.data() + start), &written);
  out.resize(start + written);
  return Status::Ok();
}

Status snappy_compress_xerial(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  out.insert(out.end(), std::begin(kXerialMagic), std::end(kXerialMagic));
  append_be32(out, 1);  // version
  append_be32(out, 1);  // compatible version
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlockBytes) {
    auto chunk = in.subspan(pos, std::min(kXerialBlockBytes, in.size() - pos));
    size_t length_at = out.size();
    append_be32(out, 0);
    (void)snappy_compress_raw(chunk, out);
    auto block = static_cast<uint32_t>(out.size() - length_at - 4);
    for (int i = 0; i < 4; ++i) {
      out[length_at + i] = static_cast<uint8_t>(block >> (24 - 8 * i));
    }
  }
  return Status::Ok();
}

// ---- lz4 -------------------------------------------------------------------------------------

Status lz4_decompress(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return make_error(ErrorCode::kInternal, "LZ4F_createDecompressionContext");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> guard(
      ctx, &LZ4F_freeDecompressionContext);
  const size_t start = out.size();
  const size_t limit = start + max_out;
  size_t pos = 0;
  size_t produced = start;
  for (;;) {
    if (produced == out.size() &&
        !grow(out, limit + 1, std::max<size_t>(in.size() * 4, size_t{64} * 1024))) {
      out.resize(start);
      return too_large(max_out);
    }
    size_t dst_size = out.size() - produced;
    size_t src_size = in.size() - pos;
    const size_t hint =
        LZ4F_decompress(ctx, out.data() + produced, &dst_size, in.data() + pos, &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      out.resize(start);
      return corrupt("lz4", LZ4F_getErrorName(hint));
    }
    pos += src_size;
    produced += dst_size;
    if (produced - start > max_out) {
      out.resize(start);
      return too_large(max_out);
    }
    // hint == 0: a frame is complete; more input means another frame follows.
    if (hint == 0 && pos == in.size()) {
      break;
    }
    // No progress although there was room: the input ends inside a frame.
    if (src_size == 0 && dst_size == 0) {
      out.resize(start);
      return corrupt("lz4", "truncated frame");
    }
  }
  out.resize(produced);
  return Status::Ok();
}

Status lz4_compress(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  const size_t start = out.size();
  out.resize(start + LZ4F_compressFrameBound(in.size(), &prefs));
  size_t written =
      LZ4F_compressFrame(out.data() + start, out.size() - start, in.data(), in.size(), &prefs);
  if (LZ4F_isError(written)) {
    out.resize(start);
    return make_error(ErrorCode::kInternal, std::string("lz4: ") + LZ4F_getErrorName(written));
  }
  out.resize(start + written);
  return Status::Ok();
}

// ---- zstd ------------------------------------------------------------------------------------

Status zstd_decompress(std::span<const uint8_t> in, std::vector<uint8_t>& out, size_t max_out) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (ds == nullptr) {
    return make_error(ErrorCode::kInternal, "ZSTD_createDStream");
  }
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> guard(ds, &ZSTD_freeDStream);
  const size_t start = out.size();
  const size_t limit = start + max_out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t produced = start;
  for (;;) {
    if (produced == out.size() &&
        !grow(out, limit + 1, std::max<size_t>(in.size() * 4, size_t{64} * 1024))) {
      out.resize(start);
      return too_large(max_out);
    }
    ZSTD_outBuffer output{out.data() + produced, out.size() - produced, 0};
    const size_t before_in = input.pos;
    const size_t rc = ZSTD_decompressStream(ds, &output, &input);
    if (ZSTD_isError(rc)) {
      out.resize(start);
      return corrupt("zstd", ZSTD_getErrorName(rc));
    }
    produced += output.pos;
    if (produced - start > max_out) {
      out.resize(start);
      return too_large(max_out);
    }
    // rc == 0: a frame is complete and flushed; more input means another frame follows.
    if (rc == 0 && input.pos == input.size) {
      break;
    }
    // No progress although there was room: the input ends inside a frame.
    if (output.pos == 0 && input.pos == before_in) {
      out.resize(start);
      return corrupt("zstd", "truncated frame");
    }
  }
  out.resize(produced);
  return Status::Ok();
}

Status zstd_compress(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  out.resize(start + ZSTD_compressBound(in.size()));
  size_t written = ZSTD_compress(out.data() + start, out.size() - start, in.data(), in.size(), 3);
  if (ZSTD_isError(written)) {
    out.resize(start);
    return make_error(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(written));
  }
  out.resize(start + written);
  return Status::Ok();
}

}  // namespace

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::kNone:
      return "none";
    case Codec::kGzip:
      return "gzip";
    case Codec::kSnappy:
      return "snappy";
    case Codec::kLz4:
      return "lz4";
    case Codec::kZstd:
      return "zstd";
  }
  return "unknown";
}

Status decompress(Codec codec, std::span<const uint8_t> in, std::vector<uint8_t>& out,
                  size_t max_out) {
  switch (codec) {
    case Codec::kNone:
      if (in.size() > max_out) {
        return too_large(max_out);
      }
      out.insert(out.end(), in.begin(), in.end());
      return Status::Ok();
    case Codec::kGzip:
      return gzip_decompress(in, out, max_out);
    case Codec::kSnappy:
      return snappy_decompress(in, out, max_out);
    case Codec::kLz4:
      return lz4_decompress(in, out, max_out);
    case Codec::kZstd:
      return zstd_decompress(in, out, max_out);
  }
  return make_error(ErrorCode::kUnsupported,
                    "unknown compression codec " + std::to_string(static_cast<int>(codec)));
}

Status compress(Codec codec, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  switch (codec) {
    case Codec::kNone:
      out.insert(out.end(), in.begin(), in.end());
      return Status::Ok();
    case Codec::kGzip:
      return gzip_compress(in, out);
    case Codec::kSnappy:
      return snappy_compress_xerial(in, out);
    case Codec::kLz4:
      return lz4_compress(in, out);
    case Codec::kZstd:
      return zstd_compress(in, out);
  }
  return make_error(ErrorCode::kUnsupported,
                    "unknown compression codec " + std::to_string(static_cast<int>(codec)));
}

Status compress_snappy_raw(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  return snappy_compress_raw(in, out);
}

}  // namespace kenc::kafka::records
