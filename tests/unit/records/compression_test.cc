#include "common/kafka/records/compression.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <random>
#include <string>
#include <vector>

namespace kenc::kafka::records {
namespace {

std::vector<uint8_t> sample(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  // Half text-like (compressible), half random.
  for (size_t i = 0; i < n; ++i) {
    out[i] = (i / 64) % 2 ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>('a' + i % 7);
  }
  return out;
}

class CodecRoundTrip : public ::testing::TestWithParam<Codec> {};

TEST_P(CodecRoundTrip, RoundTripsSizesFromEmptyToSeveralBlocks) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{40000}, size_t{300000}}) {
    auto input = sample(n, static_cast<unsigned>(n));
    std::vector<uint8_t> packed{0xAA};  // existing content must be kept (append semantics)
    ASSERT_TRUE(compress(GetParam(), input, packed).ok());
    ASSERT_EQ(packed[0], 0xAA);
    std::vector<uint8_t> unpacked{0xBB};
    auto s = decompress(GetParam(), std::span(packed).subspan(1), unpacked);
    ASSERT_TRUE(s.ok()) << codec_name(GetParam()) << " n=" << n << ": " << s.error().to_string();
    ASSERT_EQ(unpacked[0], 0xBB);
    EXPECT_EQ(std::vector<uint8_t>(unpacked.begin() + 1, unpacked.end()), input)
        << codec_name(GetParam()) << " n=" << n;
  }
}

TEST_P(CodecRoundTrip, RejectsOutputAboveTheLimit) {
  std::vector<uint8_t> input(1 << 20, 'x');  // 1 MiB of one byte: a small bomb
  std::vector<uint8_t> packed;
  ASSERT_TRUE(compress(GetParam(), input, packed).ok());
  std::vector<uint8_t> out;
  auto s = decompress(GetParam(), packed, out, size_t{64} * 1024);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kOutOfRange);
  EXPECT_TRUE(out.empty());
  auto exact = decompress(GetParam(), packed, out, input.size());
  EXPECT_TRUE(exact.ok()) << exact.error().to_string();
  EXPECT_EQ(out.size(), input.size());
}

TEST_P(CodecRoundTrip, RejectsTruncatedAndCorruptInput) {
  auto input = sample(5000, 3);
  if (GetParam() == Codec::kNone) {  // no structure to corrupt: bytes pass through as they are
    std::vector<uint8_t> out;
    ASSERT_TRUE(decompress(Codec::kNone, input, out).ok());
    EXPECT_EQ(out, input);
    return;
  }
  std::vector<uint8_t> packed;
  ASSERT_TRUE(compress(GetParam(), input, packed).ok());
  std::vector<uint8_t> out;
  EXPECT_FALSE(decompress(GetParam(), std::span(packed).first(packed.size() / 2), out).ok());
  EXPECT_TRUE(out.empty());
  std::vector<uint8_t> garbage(200, 0x5A);
  EXPECT_FALSE(decompress(GetParam(), garbage, out).ok());
  EXPECT_TRUE(out.empty());
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecRoundTrip,
                         ::testing::Values(Codec::kNone, Codec::kGzip, Codec::kSnappy, Codec::kLz4,
                                           Codec::kZstd),
                         [](const auto& param_info) {
                           return std::string(codec_name(param_info.param));
                         });

void append_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<uint8_t>(v >> (24 - 8 * i)));
  }
}

TEST(Snappy, DecodesAHandBuiltXerialFrameWithTwoBlocks) {
  const std::string first = "hello hello hello hello kafka ";
  const std::string second = "and a second block from snappy-java";
  std::vector<uint8_t> frame = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  append_be32(frame, 1);  // version
  append_be32(frame, 1);  // compatible version
  for (const std::string& part : {first, second}) {
    std::string block;
    snappy::Compress(part.data(), part.size(), &block);
    append_be32(frame, static_cast<uint32_t>(block.size()));
    frame.insert(frame.end(), block.begin(), block.end());
  }
  std::vector<uint8_t> out;
  ASSERT_TRUE(decompress(Codec::kSnappy, frame, out).ok());
  EXPECT_EQ(std::string(out.begin(), out.end()), first + second);

  // A block length that runs past the input is an error, not an overread.
  frame[16] = 0x7F;
  out.clear();
  auto s = decompress(Codec::kSnappy, frame, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST(Snappy, CompressWritesXerialFramingAndRawIsAlsoRead) {
  auto input = sample(100000, 9);
  std::vector<uint8_t> framed;
  ASSERT_TRUE(compress(Codec::kSnappy, input, framed).ok());
  ASSERT_GE(framed.size(), 16u);
  EXPECT_EQ(framed[0], 0x82);
  EXPECT_EQ(std::string(framed.begin() + 1, framed.begin() + 7), "SNAPPY");
  std::vector<uint8_t> raw;
  ASSERT_TRUE(compress_snappy_raw(input, raw).ok());
  std::vector<uint8_t> out;
  ASSERT_TRUE(decompress(Codec::kSnappy, raw, out).ok());
  EXPECT_EQ(out, input);
}

TEST(Snappy, RawBlockDeclaringAHugeLengthIsRejectedBeforeAllocating) {
  std::vector<uint8_t> bomb = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00};  // claims 4 GiB
  std::vector<uint8_t> out;
  auto s = decompress(Codec::kSnappy, bomb, out, 1 << 20);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kOutOfRange);
}

TEST(Compression, UnknownCodecIsUnsupported) {
  std::vector<uint8_t> out;
  auto s = decompress(static_cast<Codec>(5), std::vector<uint8_t>{1, 2}, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kenc::kafka::records
