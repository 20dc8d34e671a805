#include "keybroker/kms/local/local_kms.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/unit/keybroker/temp_dir.h"

namespace kenc::keybroker::kms {
namespace {

using keybroker::testing::TempDir;

std::unique_ptr<LocalKms> open_kms(const std::filesystem::path& file, bool create_missing) {
  auto kms = LocalKms::open({file, create_missing});
  EXPECT_TRUE(kms.ok()) << (kms.ok() ? "" : kms.error().to_string());
  return kms.ok() ? std::move(kms.value()) : nullptr;
}

TEST(LocalKms, CreatesAnEmptyKeyFileWithMode0600) {
  TempDir dir;
  auto file = dir.path() / "keks.json";
  auto kms = open_kms(file, false);
  ASSERT_NE(kms, nullptr);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(LocalKms, RefusesAGroupOrWorldReadableKeyFile) {
  TempDir dir;
  auto file = dir.path() / "keks.json";
  std::ofstream(file) << R"({"keks":{}})";
  ::chmod(file.c_str(), 0640);
  auto kms = LocalKms::open({file, false});
  ASSERT_FALSE(kms.ok());
  EXPECT_EQ(kms.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(kms.error().message.find("chmod 600"), std::string::npos);
  ::chmod(file.c_str(), 0604);
  EXPECT_FALSE(LocalKms::open({file, false}).ok());
}

TEST(LocalKms, RejectsAMalformedKeyFile) {
  TempDir dir;
  auto file = dir.path() / "keks.json";
  std::ofstream(file) << R"({"keks":{"a":["00ff"]}})";
  ::chmod(file.c_str(), 0600);
  auto kms = LocalKms::open({file, false});
  ASSERT_FALSE(kms.ok());
  EXPECT_EQ(kms.error().code, ErrorCode::kInvalidArgument);
}

TEST(LocalKms, UnknownKekIsNotFoundUnlessCreatedOnDemand) {
  TempDir dir;
  auto strict = open_kms(dir.path() / "a.json", false);
  ASSERT_NE(strict, nullptr);
  auto missing = strict->generate_dek("orders");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(strict->describe_kek("orders").error().code, ErrorCode::kNotFound);

  auto lenient = open_kms(dir.path() / "b.json", true);
  ASSERT_NE(lenient, nullptr);
  auto info = lenient->describe_kek("orders");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->latest_version, 1u);
  EXPECT_EQ(lenient->describe_kek("bad/name").error().code, ErrorCode::kNotFound);
}

TEST(LocalKms, GeneratedDekUnwrapsToTheSameKey) {
  TempDir dir;
  auto kms = open_kms(dir.path() / "keks.json", true);
  ASSERT_NE(kms, nullptr);
  auto dek = kms->generate_dek("orders");
  ASSERT_TRUE(dek.ok());
  EXPECT_EQ(dek->dek.size(), 32u);
  EXPECT_EQ(dek->wrapped.size(), 12u + 32u + 16u);
  EXPECT_EQ(dek->kek_version, 1u);
  auto unwrapped = kms->unwrap_dek("orders", 1, dek->wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(std::equal(unwrapped->view().begin(), unwrapped->view().end(),
                         dek->dek.view().begin(), dek->dek.view().end()));
}

TEST(LocalKms, WrappedKeyIsBoundToKekIdVersionAndBytes) {
  TempDir dir;
  auto kms = open_kms(dir.path() / "keks.json", true);
  ASSERT_NE(kms, nullptr);
  auto dek = kms->generate_dek("orders");
  ASSERT_TRUE(dek.ok());
  ASSERT_TRUE(kms->create_kek("payments").ok());
  ASSERT_TRUE(kms->rotate_kek("orders").ok());
  // Wrong KEK, wrong version, flipped bit: all fail authentication.
  EXPECT_EQ(kms->unwrap_dek("payments", 1, dek->wrapped).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(kms->unwrap_dek("orders", 2, dek->wrapped).error().code, ErrorCode::kDataLoss);
  auto tampered = dek->wrapped;
  tampered[20] ^= 1;
  EXPECT_EQ(kms->unwrap_dek("orders", 1, tampered).error().code, ErrorCode::kDataLoss);
  auto truncated = dek->wrapped;
  truncated.pop_back();
  EXPECT_EQ(kms->unwrap_dek("orders", 1, truncated).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(kms->unwrap_dek("orders", 3, dek->wrapped).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(kms->unwrap_dek("nope", 1, dek->wrapped).error().code, ErrorCode::kNotFound);
}

TEST(LocalKms, RotationWrapsNewDeksUnderTheNewVersionAndOldOnesStillUnwrap) {
  TempDir dir;
  auto kms = open_kms(dir.path() / "keks.json", true);
  ASSERT_NE(kms, nullptr);
  auto old_dek = kms->generate_dek("orders");
  ASSERT_TRUE(old_dek.ok());
  auto rotated = kms->rotate_kek("orders");
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->latest_version, 2u);
  EXPECT_EQ(kms->describe_kek("orders")->latest_version, 2u);
  auto new_dek = kms->generate_dek("orders");
  ASSERT_TRUE(new_dek.ok());
  EXPECT_EQ(new_dek->kek_version, 2u);
  EXPECT_TRUE(kms->unwrap_dek("orders", 1, old_dek->wrapped).ok());
  EXPECT_TRUE(kms->unwrap_dek("orders", 2, new_dek->wrapped).ok());
  EXPECT_EQ(kms->rotate_kek("missing").error().code, ErrorCode::kNotFound);
}

TEST(LocalKms, KeksSurviveAReopen) {
  TempDir dir;
  auto file = dir.path() / "keks.json";
  std::vector<uint8_t> wrapped;
  {
    auto kms = open_kms(file, true);
    ASSERT_NE(kms, nullptr);
    ASSERT_TRUE(kms->rotate_kek(kms->describe_kek("orders")->kek_id).ok());
    auto dek = kms->generate_dek("orders");
    ASSERT_TRUE(dek.ok());
    wrapped = dek->wrapped;
  }
  auto reopened = open_kms(file, false);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->describe_kek("orders")->latest_version, 2u);
  EXPECT_TRUE(reopened->unwrap_dek("orders", 2, wrapped).ok());
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(LocalKms, PicksUpKeksRotatedOrCreatedByAnotherProcess) {
  TempDir dir;
  auto file = dir.path() / "keks.json";
  auto broker = open_kms(file, false);
  ASSERT_NE(broker, nullptr);
  ASSERT_TRUE(broker->create_kek("orders").ok());
  auto old_dek = broker->generate_dek("orders");
  ASSERT_TRUE(old_dek.ok());

  auto admin = open_kms(file, false);  // e.g. kenc-keybroker --rotate-kek orders
  ASSERT_NE(admin, nullptr);
  ASSERT_EQ(admin->rotate_kek("orders")->latest_version, 2u);
  ASSERT_TRUE(admin->create_kek("payments").ok());
  auto new_dek = admin->generate_dek("orders");
  ASSERT_TRUE(new_dek.ok());

  EXPECT_EQ(broker->describe_kek("orders")->latest_version, 2u);
  EXPECT_EQ(broker->generate_dek("orders")->kek_version, 2u);
  EXPECT_TRUE(broker->describe_kek("payments").ok());
  auto unwrapped = broker->unwrap_dek("orders", 2, new_dek->wrapped);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().to_string();
  EXPECT_TRUE(std::ranges::equal(unwrapped->view(), new_dek->dek.view()));
  EXPECT_TRUE(broker->unwrap_dek("orders", 1, old_dek->wrapped).ok());
}

TEST(LocalKms, RefusesAChangedKeyFileThatLostAVersion) {
  TempDir dir;
  auto file = dir.path() / "keks.json";
  auto broker = open_kms(file, false);
  ASSERT_NE(broker, nullptr);
  ASSERT_TRUE(broker->create_kek("orders").ok());
  auto dek = broker->generate_dek("orders");
  ASSERT_TRUE(dek.ok());
  // Someone replaces the file with one whose "orders" is a different key.
  std::filesystem::remove(file);
  auto other = open_kms(file, false);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->create_kek("orders").ok());
  // The broker keeps the KEK it had: old EDEKs still unwrap.
  EXPECT_TRUE(broker->describe_kek("orders").ok());
  EXPECT_TRUE(broker->unwrap_dek("orders", 1, dek->wrapped).ok());
}

}  // namespace
}  // namespace kenc::keybroker::kms
