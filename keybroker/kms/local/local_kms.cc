#include "keybroker/kms/local/local_kms.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "common/base/hex.h"

namespace kenc::keybroker::kms {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr char kAadLabel[] = "kenc-local-kms-v1";

Error io_error(const std::filesystem::path& path, const std::string& what) {
  return make_error(ErrorCode::kUnavailable,
                    "local KMS key file " + path.string() + ": " + what + ": " +
                        std::error_code(errno, std::generic_category()).message());
}

// Overwrites every string inside `doc` (the KEK hex of a key file) before nlohmann frees it.
void wipe_json_strings(nlohmann::json& doc) {
  if (doc.is_string()) {
    auto& text = doc.get_ref<std::string&>();
    OPENSSL_cleanse(text.data(), text.size());
  } else if (doc.is_structured()) {
    for (auto& child : doc) {
      wipe_json_strings(child);
    }
  }
}

bool valid_kek_id(const std::string& id) {
  if (id.empty() || id.size() > 255) {
    return false;
  }
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

// AAD = label || u8 id length || id || u32 big-endian version.
std::vector<uint8_t> wrap_aad(const std::string& kek_id, uint32_t version) {
  std::vector<uint8_t> aad(kAadLabel, kAadLabel + sizeof(kAadLabel) - 1);
  aad.push_back(static_cast<uint8_t>(kek_id.size()));
  aad.insert(aad.end(), kek_id.begin(), kek_id.end());
  for (int shift = 24; shift >= 0; shift -= 8) {
    aad.push_back(static_cast<uint8_t>(version >> shift));
  }
  return aad;
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

Result<std::vector<uint8_t>> seal(std::span<const uint8_t> kek, std::span<const uint8_t> aad,
                                  std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> out(kNonceBytes + plaintext.size() + kTagBytes);
  if (RAND_bytes(out.data(), kNonceBytes) != 1) {
    return make_error(ErrorCode::kInternal, "RAND_bytes failed");
  }
  CipherCtx c;
  int len = 0;
  if (c.ctx == nullptr ||
      EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, kek.data(), out.data()) != 1 ||
      EVP_EncryptUpdate(c.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(c.ctx, out.data() + kNonceBytes, &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(c.ctx, out.data() + kNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          out.data() + kNonceBytes + plaintext.size()) != 1) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM wrap failed");
  }
  return out;
}

Result<crypto::SecureBytes> open_sealed(std::span<const uint8_t> kek, std::span<const uint8_t> aad,
                                        std::span<const uint8_t> sealed) {
  if (sealed.size() != kNonceBytes + kKeyBytes + kTagBytes) {
    return make_error(ErrorCode::kDataLoss, "wrapped DEK has the wrong length");
  }
  crypto::SecureBytes out(kKeyBytes);
  std::vector<uint8_t> tag(sealed.end() - kTagBytes, sealed.end());
  CipherCtx c;
  int len = 0;
  if (c.ctx == nullptr ||
      EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, kek.data(), sealed.data()) != 1 ||
      EVP_DecryptUpdate(c.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(c.ctx, out.mutable_view().data(), &len, sealed.data() + kNonceBytes,
                        static_cast<int>(kKeyBytes)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(c.ctx, out.mutable_view().data() + len, &len) != 1) {
    return make_error(ErrorCode::kDataLoss, "wrapped DEK does not unwrap (tampered or wrong KEK)");
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

Result<crypto::SecureBytes> from_hex_key(const std::string& hex) {
  if (hex.size() != kKeyBytes * 2) {
    return make_error(ErrorCode::kInvalidArgument, "a KEK must be 64 hex digits");
  }
  crypto::SecureBytes key(kKeyBytes);
  for (size_t i = 0; i < kKeyBytes; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(ErrorCode::kInvalidArgument, "a KEK is not hex");
    }
    key.mutable_view()[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return key;
}

}  // namespace

Result<std::unique_ptr<LocalKms>> LocalKms::open(LocalKmsOptions options) {
  std::unique_ptr<LocalKms> kms(new LocalKms(std::move(options)));
  Status loaded = kms->load();
  if (!loaded) {
    return loaded.error();
  }
  return kms;
}

Status LocalKms::load() {
  std::lock_guard lock(mu_);
  struct stat st {};
  if (::stat(options_.key_file.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return io_error(options_.key_file, "stat");
    }
    return save_locked();  // a new, empty key file with mode 0600
  }
  auto keks = read_key_file_locked();
  if (!keks) {
    return keks.error();
  }
  keks_ = std::move(keks.value());
  return Status::Ok();
}

Result<LocalKms::KekMap> LocalKms::read_key_file_locked() {
  const auto& path = options_.key_file;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return io_error(path, "stat");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error(ErrorCode::kPermissionDenied,
                      "local KMS key file " + path.string() +
                          " is accessible by group or others; run chmod 600 on it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return io_error(path, "open");
  }
  // Read straight into one buffer of the file's size (a stringstream would keep its own copy of
  // the KEK hex and free it unwiped); resize() to a shorter length never reallocates.
  std::string text(static_cast<size_t>(st.st_size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  OPENSSL_cleanse(text.data(), text.size());
  // Every return below, early ones included, wipes the hex strings the document still holds.
  struct WipeOnExit {
    nlohmann::json& doc;
    // Cannot throw: wipe_json_strings() only takes a string's reference after is_string().
    ~WipeOnExit() { wipe_json_strings(doc); }  // NOLINT(bugprone-exception-escape)
  } wipe_doc{doc};
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keks") || !doc["keks"].is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "local KMS key file " + path.string() +
                                                       " is not a {\"keks\": {...}} document");
  }
  KekMap keks;
  for (auto& [kek_id, versions] : doc["keks"].items()) {
    if (!valid_kek_id(kek_id) || !versions.is_array() || versions.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "local KMS key file: KEK '" + kek_id + "' is malformed");
    }
    std::vector<crypto::SecureBytes> keys;
    for (auto& v : versions) {
      if (!v.is_string()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "local KMS key file: KEK '" + kek_id + "' has a non-string version");
      }
      auto& hex = v.get_ref<std::string&>();
      auto key = from_hex_key(hex);
      OPENSSL_cleanse(hex.data(), hex.size());
      if (!key) {
        return make_error(ErrorCode::kInvalidArgument,
                          "local KMS key file: KEK '" + kek_id + "': " + key.error().message);
      }
      keys.push_back(std::move(key.value()));
    }
    keks[kek_id] = std::move(keys);
  }
  stamp_ = FileStamp{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  return keks;
}

// Another process (`kenc-keybroker --rotate-kek`) may have rewritten the file. Its content is
// adopted only if it keeps every KEK version we know, byte for byte: a file that lost a version
// would make old EDEKs unreadable, so it is refused with a warning.
void LocalKms::reload_if_changed_locked() {
  struct stat st {};
  if (::stat(options_.key_file.c_str(), &st) != 0) {
    return;
  }
  if (FileStamp{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec} == stamp_) {
    return;
  }
  auto fresh = read_key_file_locked();
  if (!fresh) {
    LOG(WARNING) << "local KMS: not reloading the changed key file: " << fresh.error().to_string();
    stamp_ = FileStamp{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
    return;
  }
  for (const auto& [kek_id, versions] : keks_) {
    auto it = fresh->find(kek_id);
    bool kept = it != fresh->end() && it->second.size() >= versions.size();
    for (size_t i = 0; kept && i < versions.size(); ++i) {
      kept = std::ranges::equal(it->second[i].view(), versions[i].view());
    }
    if (!kept) {
      LOG(WARNING) << "local KMS: the changed key file lost or altered KEK '" << kek_id
                   << "'; keeping the KEKs already loaded";
      return;
    }
  }
  keks_ = std::move(fresh.value());
  LOG(INFO) << "local KMS: reloaded the key file (" << keks_.size() << " KEKs)";
}

// Writes a temporary file with mode 0600 and renames it over the key file, so a crash never
// leaves a half-written file and the keys are never readable by others, even briefly.
Status LocalKms::save_locked() {
  nlohmann::json doc;
  doc["keks"] = nlohmann::json::object();
  for (const auto& [kek_id, versions] : keks_) {
    auto& list = doc["keks"][kek_id] = nlohmann::json::array();
    for (const auto& key : versions) {
      list.push_back(to_hex(key.view()));
    }
  }
  // dump() + "\n" would leave an unwiped temporary; the newline is appended to the one buffer
  // only when it has room, else written on its own.
  std::string text = doc.dump(2);
  wipe_json_strings(doc);
  const bool newline_fits = text.size() < text.capacity();
  if (newline_fits) {
    text.push_back('\n');
  }
  const auto& path = options_.key_file;
  std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(text.data(), text.size());
    return io_error(tmp, "create");
  }
  ::fchmod(fd, 0600);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    written += static_cast<size_t>(n);
  }
  bool ok = written == text.size() && (newline_fits || ::write(fd, "\n", 1) == 1);
  OPENSSL_cleanse(text.data(), text.size());
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return io_error(path, "write");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    stamp_ = FileStamp{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  }
  return Status::Ok();
}

Result<KekInfo> LocalKms::add_version_locked(const std::string& kek_id) {
  crypto::SecureBytes key(kKeyBytes);
  if (RAND_bytes(key.mutable_view().data(), kKeyBytes) != 1) {
    return make_error(ErrorCode::kInternal, "RAND_bytes failed");
  }
  auto& versions = keks_[kek_id];
  versions.push_back(std::move(key));
  Status saved = save_locked();
  if (!saved) {
    versions.pop_back();
    if (versions.empty()) {
      keks_.erase(kek_id);
    }
    return saved.error();
  }
  return KekInfo{kek_id, static_cast<uint32_t>(versions.size())};
}

Result<const std::vector<crypto::SecureBytes>*> LocalKms::find_locked(const std::string& kek_id) {
  reload_if_changed_locked();
  auto it = keks_.find(kek_id);
  if (it != keks_.end()) {
    return &it->second;
  }
  if (!valid_kek_id(kek_id)) {
    return make_error(ErrorCode::kNotFound, "no KEK named '" + kek_id + "' (not a valid KEK id)");
  }
  if (!options_.create_missing_keks) {
    return make_error(ErrorCode::kNotFound, "no KEK named '" + kek_id + "'");
  }
  auto created = add_version_locked(kek_id);
  if (!created) {
    return created.error();
  }
  return &keks_.at(kek_id);
}

Result<KekInfo> LocalKms::describe_kek(const std::string& kek_id) {
  std::lock_guard lock(mu_);
  auto versions = find_locked(kek_id);
  if (!versions) {
    return versions.error();
  }
  return KekInfo{kek_id, static_cast<uint32_t>((*versions)->size())};
}

Result<GeneratedDek> LocalKms::generate_dek(const std::string& kek_id) {
  std::lock_guard lock(mu_);
  auto versions = find_locked(kek_id);
  if (!versions) {
    return versions.error();
  }
  GeneratedDek out;
  out.kek_version = static_cast<uint32_t>((*versions)->size());
  out.dek = crypto::SecureBytes(kKeyBytes);
  if (RAND_bytes(out.dek.mutable_view().data(), kKeyBytes) != 1) {
    return make_error(ErrorCode::kInternal, "RAND_bytes failed");
  }
  auto wrapped =
      seal((*versions)->back().view(), wrap_aad(kek_id, out.kek_version), out.dek.view());
  if (!wrapped) {
    return wrapped.error();
  }
  out.wrapped = std::move(wrapped.value());
  return out;
}

Result<crypto::SecureBytes> LocalKms::unwrap_dek(const std::string& kek_id, uint32_t kek_version,
                                                 std::span<const uint8_t> wrapped) {
  std::lock_guard lock(mu_);
  auto it = keks_.find(kek_id);
  if (it == keks_.end() || kek_version > it->second.size()) {
    reload_if_changed_locked();  // rotated or created by another process?
    it = keks_.find(kek_id);
  }
  if (it == keks_.end()) {
    return make_error(ErrorCode::kNotFound, "no KEK named '" + kek_id + "'");
  }
  if (kek_version == 0 || kek_version > it->second.size()) {
    return make_error(ErrorCode::kNotFound,
                      "KEK '" + kek_id + "' has no version " + std::to_string(kek_version));
  }
  return open_sealed(it->second[kek_version - 1].view(), wrap_aad(kek_id, kek_version), wrapped);
}

Status LocalKms::health() { return Status::Ok(); }

Result<KekInfo> LocalKms::create_kek(const std::string& kek_id) {
  if (!valid_kek_id(kek_id)) {
    return make_error(ErrorCode::kInvalidArgument, "'" + kek_id + "' is not a valid KEK id");
  }
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  if (keks_.contains(kek_id)) {
    return make_error(ErrorCode::kInvalidArgument, "KEK '" + kek_id + "' already exists");
  }
  return add_version_locked(kek_id);
}

Result<KekInfo> LocalKms::rotate_kek(const std::string& kek_id) {
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  if (!keks_.contains(kek_id)) {
    return make_error(ErrorCode::kNotFound, "no KEK named '" + kek_id + "'");
  }
  return add_version_locked(kek_id);
}

}  // namespace kenc::keybroker::kms
