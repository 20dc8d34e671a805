#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/cipher_record.h"
#include "common/crypto/iv_sequence.h"
#include "common/kafka/records/batch_rewriter.h"
#include "proxy/filters/record_encryption/cipher_headers.h"
#include "proxy/filters/record_encryption/dek_cache.h"

namespace kenc::record_encryption {

// The per-record work of the filter, as BatchRewriter transforms: one batch at a time, on the
// worker thread, with no allocation per record once the rewriter's buffers are warm.

// Encrypts every non-null value of a batch into a version 1 cipher record under one DEK lease
// reservation (IVs first_iv.counter, +1, ...) and adds the `kenc` header. Null values
// (tombstones) and records' keys, other headers and timestamps stay as they are. A record that
// already carries a `kenc` header is refused (kInvalidArgument): the header is reserved, and a
// forged one would make the record undecryptable for every consumer.
class EncryptTransform final : public kafka::records::ValueTransform {
 public:
  // With `encrypt_headers`, a record that has headers gets format version 2: its headers are
  // encrypted together with the value and replaced by the `kenc` header alone.
  EncryptTransform(crypto::AesGcmEncryptor& encryptor, std::span<const uint8_t> edek,
                   crypto::IvFields first_iv, uint64_t iv_count, bool encrypt_headers = false)
      : encryptor_(encryptor),
        edek_(edek),
        next_iv_(first_iv),
        iv_end_(first_iv.counter + iv_count),
        encrypt_headers_(encrypt_headers) {}

  bool rewrite_headers(const kafka::records::RecordView& record, kafka::records::ValueAction action,
                       std::vector<uint8_t>& new_headers) override;
  // The cipher record is written straight into the rebuilt batch.
  bool values_in_place() const override { return true; }
  Result<kafka::records::ValueAction> plan_value(const kafka::records::BatchHeader& batch,
                                                 const kafka::records::RecordView& record,
                                                 size_t& value_size) override;
  Status write_value(std::span<uint8_t> out) override;

  uint64_t encrypted() const { return encrypted_; }
  uint64_t plaintext_bytes() const { return plaintext_bytes_; }

 private:
  crypto::AesGcmEncryptor& encryptor_;
  std::span<const uint8_t> edek_;
  crypto::IvFields next_iv_;
  uint64_t iv_end_;
  bool encrypt_headers_;
  // The record planned by plan_value(): what write_value() encrypts, and in which version.
  std::span<const uint8_t> plaintext_;
  size_t value_bytes_ = 0;
  uint8_t last_version_ = crypto::kCipherFormatV1;
  uint64_t encrypted_ = 0;
  uint64_t plaintext_bytes_ = 0;
};

// Decrypts the values of cipher records (those with a `kenc` header) and removes the header;
// other records pass unchanged (rewrite_values_if_needed() leaves a batch without cipher records
// untouched). DEKs come from `find_dek` (the DEK cache's synchronous lookup): on a miss the
// transform fails with kUnavailable and remembers the EDEK in missing_edek(), so the caller can
// fetch the DEK asynchronously and run the batch again.
class DecryptTransform final : public kafka::records::ValueTransform {
 public:
  using FindDek = std::function<DekPtr(std::span<const uint8_t> edek)>;
  explicit DecryptTransform(FindDek find_dek) : find_dek_(std::move(find_dek)) {}

  bool needs_rewrite(const kafka::records::RecordView& record) override;
  bool rewrite_headers(const kafka::records::RecordView& record, kafka::records::ValueAction action,
                       std::vector<uint8_t>& new_headers) override;
  // Version 1 values are decrypted straight into the rebuilt batch.
  bool values_in_place() const override { return true; }
  Result<kafka::records::ValueAction> plan_value(const kafka::records::BatchHeader& batch,
                                                 const kafka::records::RecordView& record,
                                                 size_t& value_size) override;
  Status write_value(std::span<uint8_t> out) override;

  // After a kUnavailable failure: the EDEK whose DEK was not cached.
  const std::vector<uint8_t>& missing_edek() const { return missing_edek_; }
  bool missing_dek() const { return missing_dek_; }
  // After any failure: the offset of the record that failed.
  int64_t failed_offset() const { return failed_offset_; }
  uint64_t decrypted() const { return decrypted_; }
  // Forget the per-batch state before running another batch.
  void reset();

 private:
  FindDek find_dek_;
  // The DEK of the previous record: records of a batch almost always share one EDEK, so the
  // cache (a mutex and a hash) is consulted once per run of equal EDEKs, not per record.
  std::vector<uint8_t> last_edek_;
  DekPtr last_dek_;
  std::vector<uint8_t> missing_edek_;
  bool missing_dek_ = false;
  // The `kenc` header of the record being transformed, found once for plan_value() and
  // rewrite_headers().
  CipherHeader cipher_header_;
  // The record planned by plan_value(), for write_value().
  crypto::CipherRecordView parsed_;
  crypto::AesGcmDecryptor* decryptor_ = nullptr;
  // Version 2 records: the decrypted headers and value, and the two parts of it written back.
  std::vector<uint8_t> plaintext_;
  std::span<const uint8_t> decrypted_headers_;
  std::span<const uint8_t> decrypted_value_;
  bool headers_decrypted_ = false;
  int64_t failed_offset_ = -1;
  uint64_t decrypted_ = 0;
};

}  // namespace kenc::record_encryption
