#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keybroker/kms/kms.h"

namespace kenc::keybroker::kms {

struct LocalKmsOptions {
  // JSON file holding every KEK version. Must not be readable by group or others.
  std::filesystem::path key_file;
  // When true, describe_kek/generate_dek create a KEK that does not exist yet (demos, tests).
  bool create_missing_keks = false;
};

// An embedded KMS for development and demos: 256-bit KEKs, versioned, kept in a 0600 file.
//
// A wrapped DEK is `nonce (12 random bytes) || AES-256-GCM ciphertext (32) || tag (16)`; the
// AAD binds the KEK id and version, so a wrapped key moved to another KEK or version fails to
// unwrap (kDataLoss). Rotation adds a version; old versions stay to unwrap old DEKs.
//
// Another process may rotate or create KEKs in the same file (`kenc-keybroker --rotate-kek`):
// the file is re-read when it changed, at describe/generate time and when an unwrap names a KEK
// or version not loaded yet. A rewritten file must keep every known version.
class LocalKms final : public Kms {
 public:
  // Loads (or creates, empty, with mode 0600) the key file. Errors: the file is group or world
  // readable (kPermissionDenied), unreadable, or malformed (kInvalidArgument).
  static Result<std::unique_ptr<LocalKms>> open(LocalKmsOptions options);

  std::string name() const override { return "local"; }
  Result<KekInfo> describe_kek(const std::string& kek_id) override;
  Result<GeneratedDek> generate_dek(const std::string& kek_id) override;
  Result<crypto::SecureBytes> unwrap_dek(const std::string& kek_id, uint32_t kek_version,
                                         std::span<const uint8_t> wrapped) override;
  Status health() override;

  // Creates a KEK with version 1. kInvalidArgument if it exists or the id is not valid.
  Result<KekInfo> create_kek(const std::string& kek_id);
  // Adds a new latest version to an existing KEK and persists it.
  Result<KekInfo> rotate_kek(const std::string& kek_id);

 private:
  explicit LocalKms(LocalKmsOptions options) : options_(std::move(options)) {}

  using KekMap = std::map<std::string, std::vector<crypto::SecureBytes>>;
  // Identifies one version of the key file (a rewrite renames a new inode into place).
  struct FileStamp {
    ino_t inode = 0;
    int64_t mtime_s = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };

  Status load();
  Result<KekMap> read_key_file_locked();
  void reload_if_changed_locked();
  Status save_locked();
  // The KEK's versions (index = version - 1), creating the KEK when configured to.
  Result<const std::vector<crypto::SecureBytes>*> find_locked(const std::string& kek_id);
  Result<KekInfo> add_version_locked(const std::string& kek_id);

  LocalKmsOptions options_;
  std::mutex mu_;
  KekMap keks_;
  FileStamp stamp_;
};

}  // namespace kenc::keybroker::kms
