#include "proxy/net/frame_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

namespace kenc::proxy {
namespace {

std::vector<uint8_t> frame_of(std::vector<uint8_t> payload) {
  const ByteBuffer frame = make_frame(payload).bytes;
  return std::vector<uint8_t>(frame.begin(), frame.end());
}

TEST(FrameReader, WholeFrameInOnePiece) {
  const auto bytes = frame_of({1, 2, 3, 4, 5});
  FrameReader reader(1024);
  auto used = reader.consume(bytes);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, bytes.size());
  auto frame = reader.take();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->bytes, bytes);
  EXPECT_EQ(std::vector<uint8_t>(frame->payload().begin(), frame->payload().end()),
            (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(reader.take().has_value());
}

// The connection reads the rest of a large frame straight into the frame's buffer: what it
// writes through unfilled()/filled() must complete the same frame, mixed with consume().
TEST(FrameReader, UnfilledPartIsWrittenInPlace) {
  std::vector<uint8_t> payload(1000);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(i * 7);
  }
  const auto bytes = frame_of(payload);
  FrameReader reader(4096);
  EXPECT_TRUE(reader.unfilled().empty());  // no size known yet
  ASSERT_TRUE(reader.consume(std::span<const uint8_t>(bytes).first(2)).ok());
  EXPECT_TRUE(reader.unfilled().empty());  // half a size prefix
  ASSERT_TRUE(reader.consume(std::span<const uint8_t>(bytes).subspan(2, 98)).ok());
  size_t at = 100;
  for (size_t piece : {300u, 1u, 600u}) {
    auto target = reader.unfilled();
    ASSERT_EQ(target.size(), bytes.size() - at);
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), piece, target.begin());
    reader.filled(piece);
    at += piece;
    EXPECT_EQ(reader.take().has_value(), false) << "completed early at " << at;
  }
  ASSERT_TRUE(reader.consume(std::span<const uint8_t>(bytes).subspan(at)).ok());
  auto frame = reader.take();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->bytes, bytes);
  EXPECT_TRUE(reader.unfilled().empty());

  // Filled to the last byte, a frame is complete without another consume().
  ASSERT_TRUE(reader.consume(std::span<const uint8_t>(bytes).first(10)).ok());
  auto target = reader.unfilled();
  std::copy(bytes.begin() + 10, bytes.end(), target.begin());
  reader.filled(target.size());
  EXPECT_TRUE(reader.unfilled().empty());
  auto second = reader.take();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->bytes, bytes);
}

TEST(FrameReader, ByteByByteKeepsThePartialFrame) {
  const auto bytes = frame_of({9, 8, 7, 6, 5, 4, 3});
  FrameReader reader(1024);
  for (size_t i = 0; i < bytes.size(); ++i) {
    EXPECT_FALSE(reader.take().has_value()) << "frame completed early at byte " << i;
    auto used = reader.consume(std::span<const uint8_t>(&bytes[i], 1));
    ASSERT_TRUE(used.ok());
    EXPECT_EQ(*used, 1u);
    EXPECT_EQ(reader.mid_frame(), i + 1 < bytes.size());
  }
  auto frame = reader.take();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->bytes, bytes);
}

TEST(FrameReader, StopsAtTheFrameEndAndLeavesTheRest) {
  auto first = frame_of({1, 2});
  auto second = frame_of({3, 4, 5});
  std::vector<uint8_t> stream = first;
  stream.insert(stream.end(), second.begin(), second.end());
  stream.push_back(0);  // start of a third frame's size prefix

  FrameReader reader(1024);
  auto used = reader.consume(stream);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, first.size()) << "must not read past the first frame";
  EXPECT_EQ(reader.take()->bytes, first);

  auto rest = std::span<const uint8_t>(stream).subspan(*used);
  used = reader.consume(rest);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, second.size());
  EXPECT_EQ(reader.take()->bytes, second);

  used = reader.consume(rest.subspan(*used));
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, 1u);
  EXPECT_FALSE(reader.take().has_value());
  EXPECT_TRUE(reader.mid_frame());
}

TEST(FrameReader, EmptyFrameIsAFrame) {
  const auto bytes = frame_of({});
  FrameReader reader(1024);
  ASSERT_TRUE(reader.consume(bytes).ok());
  auto frame = reader.take();
  ASSERT_TRUE(frame.has_value());
  EXPECT_TRUE(frame->payload().empty());
}

TEST(FrameReader, RejectsOversizedFrameBeforeAllocating) {
  // 2 GiB - 1 announced: must fail on the prefix alone, without allocating.
  const std::vector<uint8_t> prefix = {0x7f, 0xff, 0xff, 0xff};
  FrameReader reader(1024);
  auto used = reader.consume(prefix);
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(used.error().code, ErrorCode::kOutOfRange);
  // The error is sticky: the stream cannot be resynchronised.
  EXPECT_FALSE(reader.consume(frame_of({1})).ok());
}

TEST(FrameReader, MemoryGrowsWithTheBytesReceivedNotTheDeclaredSize) {
  // A client that announces a maximum-size frame and sends almost nothing must not make the
  // proxy hold that much memory; the frame still completes byte-exact when it all arrives.
  constexpr int32_t kDeclared = 100 * 1024 * 1024;
  std::vector<uint8_t> payload(kDeclared);
  for (size_t i = 0; i < payload.size(); i += 4096) payload[i] = static_cast<uint8_t>(i >> 12);
  const auto bytes = frame_of(payload);
  FrameReader reader(kDeclared);
  ASSERT_TRUE(reader.consume(std::span(bytes).first(4 + 10)).ok());
  EXPECT_LE(reader.held_bytes(), 64u * 1024);
  ASSERT_TRUE(reader.consume(std::span(bytes).subspan(14, 1024 * 1024)).ok());
  EXPECT_LE(reader.held_bytes(), 2u * (4 + 10 + 1024 * 1024));
  size_t at = 14 + 1024 * 1024;
  while (at < bytes.size()) {
    auto used =
        reader.consume(std::span(bytes).subspan(at, std::min<size_t>(bytes.size() - at, 3 << 20)));
    ASSERT_TRUE(used.ok());
    at += *used;
  }
  EXPECT_EQ(reader.held_bytes(), bytes.size()) << "never more than the declared frame";
  auto frame = reader.take();
  ASSERT_TRUE(frame.has_value());
  EXPECT_TRUE(frame->bytes == bytes);
}

TEST(FrameReader, ABrokerResponseGetsItsDeclaredSizeAtOnce) {
  // The broker side: one buffer of the declared size, filled in place, never reallocated.
  std::vector<uint8_t> payload(3 * 1024 * 1024 + 17);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  const auto bytes = frame_of(payload);
  FrameReader reader(static_cast<int32_t>(payload.size()), FrameReader::Sizing::kDeclaredSize);
  ASSERT_TRUE(reader.consume(std::span(bytes).first(4)).ok());
  EXPECT_EQ(reader.held_bytes(), bytes.size());
  const uint8_t* buffer = nullptr;
  size_t at = 4;
  while (at < bytes.size()) {
    auto room = reader.unfilled();
    ASSERT_FALSE(room.empty());
    if (buffer == nullptr) buffer = room.data() - at;
    EXPECT_EQ(room.data(), buffer + at) << "the buffer moved";
    const size_t n = std::min<size_t>({room.size(), bytes.size() - at, 256 * 1024});
    std::memcpy(room.data(), bytes.data() + at, n);
    reader.filled(n);
    at += n;
  }
  auto frame = reader.take();
  ASSERT_TRUE(frame.has_value());
  EXPECT_TRUE(frame->bytes == bytes);
}

TEST(FrameReader, RejectsNegativeSize) {
  const std::vector<uint8_t> prefix = {0xff, 0xff, 0xff, 0xfe};
  FrameReader reader(1024);
  EXPECT_FALSE(reader.consume(prefix).ok());
}

TEST(FrameReader, AcceptsExactlyTheMaximum) {
  std::vector<uint8_t> payload(64, 0xab);
  FrameReader reader(64);
  ASSERT_TRUE(reader.consume(frame_of(payload)).ok());
  EXPECT_TRUE(reader.take().has_value());
  FrameReader smaller(63);
  EXPECT_FALSE(smaller.consume(frame_of(payload)).ok());
}

}  // namespace
}  // namespace kenc::proxy
